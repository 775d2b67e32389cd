"""From photos to emotions: read a photo, find its faces, crop them as FER-2013 was made, classify, explain."""
