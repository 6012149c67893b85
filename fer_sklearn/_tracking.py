"""Face ids across the frames of a video (``analyze`` and ``live``)."""

__all__ = []


class _Tracker:
    """Face ids across the frames of one video, by box overlap (IoU).

    Each box of a frame takes the id of the track whose last box it overlaps
    most (at least ``min_iou``), greedily by overlap; a box that matches no
    track starts a new id; a track unseen for more than ``max_gap``
    analysed frames ends.
    """

    def __init__(self, min_iou=0.3, max_gap=10):
        self.min_iou = min_iou
        self.max_gap = max_gap
        self.tracks = {}  # id -> (box, last frame number)
        self.next_id = 0
        self.frames = 0

    @staticmethod
    def _iou(a, b):
        ax, ay, aw, ah = a
        bx, by, bw, bh = b
        width = max(0, min(ax + aw, bx + bw) - max(ax, bx))
        height = max(0, min(ay + ah, by + bh) - max(ay, by))
        overlap = width * height
        return overlap / (aw * ah + bw * bh - overlap) if overlap else 0.0

    def assign(self, boxes):
        self.frames += 1
        self.tracks = {i: t for i, t in self.tracks.items()
                       if self.frames - t[1] <= self.max_gap + 1}
        pairs = sorted(((self._iou(box, track[0]), b, i)
                        for b, box in enumerate(boxes) for i, track in self.tracks.items()),
                       reverse=True)
        ids, taken = [None] * len(boxes), set()
        for iou, b, i in pairs:
            if iou < self.min_iou:
                break
            if ids[b] is None and i not in taken:
                ids[b] = i
                taken.add(i)
        for b, box in enumerate(boxes):
            if ids[b] is None:
                ids[b], self.next_id = self.next_id, self.next_id + 1
            self.tracks[ids[b]] = (box, self.frames)
        return ids
