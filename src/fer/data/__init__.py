"""FER-2013 in both forms (CSV, image folders) read into one shape of splits, cached, fed to Keras."""
