"""Follow faces from frame to frame: boxes matched by overlap (IoU), so that each person keeps one id."""

import numpy as np
from scipy.optimize import linear_sum_assignment

MIN_IOU = 0.2  # below this overlap two boxes are different faces; low, as sampled frames can be far apart
MAX_MISSED = 5  # a track ends after this many analysed frames in a row without its face

Box = tuple[int, int, int, int]


def iou_matrix(first: list[Box], second: list[Box]) -> np.ndarray:
    """Intersection over union of every box (x, y, width, height) in first with every box in second."""
    a = np.asarray(first, dtype=np.float64).reshape(-1, 1, 4)
    b = np.asarray(second, dtype=np.float64).reshape(1, -1, 4)
    overlap_width = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    overlap_height = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    intersection = np.clip(overlap_width, 0, None) * np.clip(overlap_height, 0, None)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - intersection
    return intersection / np.maximum(union, 1e-9)


class FaceTracker:
    """Track ids for the faces of consecutive analysed frames.

    Each frame's boxes are matched to the live tracks' last boxes by the Hungarian algorithm
    (scipy's linear_sum_assignment) on 1 - IoU, which maximises the total overlap: two people
    crossing keep their ids where a greedy best-first match could swap them. A pair overlapping
    less than min_iou is not a match; an unmatched box starts a new track (ids 1, 2, ... in order
    of first appearance), and a track unmatched for more than max_missed analysed frames in a row
    ends, so a face that returns after that gets a new id.
    """

    def __init__(self, min_iou: float = MIN_IOU, max_missed: int = MAX_MISSED):
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.last_boxes: dict[int, Box] = {}  # live tracks only
        self.missed: dict[int, int] = {}
        self.next_id = 1

    def update(self, boxes: list[Box]) -> list[int]:
        """The track id of each box of the next analysed frame, in the order given."""
        live = list(self.last_boxes)
        ids: list[int | None] = [None] * len(boxes)
        if live and boxes:
            overlap = iou_matrix(boxes, [self.last_boxes[track] for track in live])
            for box_index, track_index in zip(*linear_sum_assignment(1 - overlap)):
                if overlap[box_index, track_index] >= self.min_iou:
                    ids[box_index] = live[track_index]
        for index, box in enumerate(boxes):
            if ids[index] is None:
                ids[index] = self.next_id
                self.next_id += 1
            self.last_boxes[ids[index]] = tuple(box)
            self.missed[ids[index]] = 0
        for track in set(live) - set(ids):
            self.missed[track] += 1
            if self.missed[track] > self.max_missed:
                del self.last_boxes[track], self.missed[track]
        return ids
