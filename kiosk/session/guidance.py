"""POSITION guidance: the one most useful instruction for the person right now."""

from __future__ import annotations

from kiosk.config import PositionConfig
from kiosk.domain import Observation

# A second face counts as a second person when it is at least this large relative to the
# main face; smaller ones are people far behind, who are not in the selfie.
OTHER_FACE_RATIO = 0.5


def second_person(obs: Observation) -> bool:
    if obs.face is None:
        return False
    main = obs.face.eye_distance
    return any(f.eye_distance >= OTHER_FACE_RATIO * main for f in obs.others)


def advice(obs: Observation, cfg: PositionConfig) -> str:
    """A key under [position] in the catalogue; 'good' when nothing needs fixing.

    Checked in the order a person can act on: who is in the picture, distance, centring,
    light, then stillness.
    """
    q = obs.quality
    if obs.face is None or q is None:
        return "no_face"
    if second_person(obs):
        return "many_faces"
    if q.face_size < cfg.min_face:
        return "too_far"
    if q.face_size > cfg.max_face:
        return "too_close"
    if max(abs(q.offset_x), abs(q.offset_y)) > cfg.max_offset:
        return "off_centre"
    if q.luminance < cfg.min_luma:
        return "too_dark"
    if q.luminance > cfg.max_luma:
        return "too_bright"
    if q.motion > cfg.max_motion:
        return "hold_still"
    return "good"
