"""Faces in consecutive video frames, found in real time: the whole frame searched every few frames, and in between
each face searched for near where it was."""

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from fer.inference.faces import detect_faces, smallest_face
from fer.inference.tracks import Box, iou_matrix

WHOLE_FRAME_EVERY = 4  # analysed frames; the Haar cascade over a whole 640x480 frame costs most of a frame's time
NEAR = 0.5  # the region searched around a face's last box: this fraction of its width and height on each side
SIZE_CHANGE = 1.5  # from one analysed frame to the next a face's side grows or shrinks by at most this factor
SAME_FACE_IOU = 0.3  # two boxes overlapping this much are one face


@dataclass
class SearchedFrame:
    """An analysed frame: what its faces are cropped from (gray, full size) and where they are searched (small)."""

    number: int
    seconds: float
    gray: Image.Image
    scale: float  # gray's pixels to the original frame's
    small: np.ndarray  # uint8, at most the detection side; boxes are found in its pixels
    shrink: float  # small's pixels per gray pixel (1 or less)
    boxes: list[Box] = field(default_factory=list)  # found in small's pixels


def search_near(small: np.ndarray, box: Box) -> list[Box]:
    """Faces within NEAR of box, of about its size (SIZE_CHANGE), in the search image small."""
    x, y, width, height = box
    left, top = max(0, int(x - NEAR * width)), max(0, int(y - NEAR * height))
    right = min(small.shape[1], int(x + width + NEAR * width) + 1)
    bottom = min(small.shape[0], int(y + height + NEAR * height) + 1)
    side = max(width, height)
    smallest = max(smallest_face(small.shape), int(side / SIZE_CHANGE))
    found = detect_faces(small[top:bottom, left:right], smallest=smallest, largest=int(side * SIZE_CHANGE) + 1)
    return [(fx + left, fy + top, fw, fh) for fx, fy, fw, fh in found]


def overlaps(box: Box, boxes: list[Box]) -> bool:
    return bool(boxes) and iou_matrix([box], boxes).max() >= SAME_FACE_IOU


def nearest(box: Box, boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    overlap = iou_matrix([box], boxes)[0]
    return boxes[int(overlap.argmax())] if overlap.max() >= SAME_FACE_IOU else None


class FaceFinder:
    """The boxes of each analysed frame, in its search image's pixels.

    Every whole_frame_every-th frame is searched whole, as fer.predict searches a photo. In the frames between,
    each face of the previous frame is searched for near its box: a face that moves is followed, one that leaves
    is no longer found. A face that a whole-frame search finds and the previous frame lacked (it came into view,
    or the cascade missed it) is searched for backwards, near its box, in the frames since the last whole-frame
    search: its earlier boxes are returned as late finds, so no frame in which it could be found is left without it.
    """

    def __init__(self, whole_frame_every: int = WHOLE_FRAME_EVERY):
        self.whole_frame_every = whole_frame_every
        self.searched = 0
        self.since_whole: list[SearchedFrame] = []  # the frames since the last whole-frame search, in order

    def find(self, frame: SearchedFrame) -> dict[int, list[tuple[SearchedFrame, Box]]]:
        """Fill frame.boxes; return, by index into them, each face's late finds in earlier frames."""
        previous = self.since_whole[-1].boxes if self.since_whole else []
        late = {}
        if self.searched % self.whole_frame_every == 0:
            frame.boxes = detect_faces(frame.small)
            late = {
                index: self.look_back(box) for index, box in enumerate(frame.boxes) if not overlaps(box, previous)
            }
            self.since_whole = []
        else:
            for last in previous:
                found = nearest(last, search_near(frame.small, last))
                if found is not None and not overlaps(found, frame.boxes):
                    frame.boxes.append(found)
            frame.boxes.sort(key=lambda box: box[2] * box[3], reverse=True)
        self.since_whole.append(frame)
        self.searched += 1
        return {index: finds for index, finds in late.items() if finds}

    def look_back(self, box: Box) -> list[tuple[SearchedFrame, Box]]:
        finds = []
        for earlier in reversed(self.since_whole[1:]):  # the first was searched whole
            if overlaps(box, earlier.boxes):
                break
            box = nearest(box, search_near(earlier.small, box))
            if box is None:
                break
            earlier.boxes.append(box)
            finds.append((earlier, box))
        return finds
