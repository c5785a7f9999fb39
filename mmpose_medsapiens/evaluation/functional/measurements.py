"""Clinical measurements built from landmarks: distances and angles.

A landmark set declares its measurements by landmark *name* (dataset class
``MEASUREMENTS``, or the dataset's ``measurements`` argument in a config);
the dataset resolves them once against its landmark names into index-based
specs that travel with every sample's calibration, and the metric and
``tools/infer.py`` evaluate them with :func:`measure`. Four kinds::

    dict(name='IVSd', distance=('ivs_endocardial_top', 'ivs_lvid_junction'))
    dict(name='SNA', angle=('sella', 'nasion', 'subspinale'))   # at the middle one
    dict(name='FMA', line_angle=(('porion', 'orbitale'), ('gonion', 'menton')))
    dict(name='ANB', difference=('SNA', 'SNB'))                 # of two others

Distances are in the calibration's unit (spacing and per-image normalisation
applied as for the radial errors); angles are in degrees, measured in
physical space (anisotropic spacing applied first). ``angle`` is the angle
at the vertex in [0, 180]; ``line_angle`` the acute angle between two lines
in [0, 90]; ``difference`` is signed.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

KINDS = ('distance', 'angle', 'line_angle', 'difference')
ANGLE_UNIT = 'deg'


def resolve_measurements(specs: Sequence[dict], names: Sequence[str],
                         where: str = 'measurements') -> Tuple[dict, ...]:
    """Turn name-based measurement declarations into index-based specs.

    Args:
        specs (Sequence[dict]): Declarations, each ``name`` plus exactly one of
            the keys in :data:`KINDS`.
        names (Sequence[str]): The landmark names, in channel order.
        where (str): Who declares them, for error messages (e.g. the
            annotation file).

    Returns:
        tuple[dict]: ``dict(name, kind, landmarks=(i, ...))`` or, for a
        difference, ``dict(name, kind, terms=(a, b))``, in declaration order.

    Raises:
        ValueError: An unknown landmark or measurement name, a wrong number
            of landmarks, a duplicate name or a spec of no known kind; the
            message names ``where`` and the measurement.
    """
    index = {str(n): i for i, n in enumerate(names)}
    resolved, seen = [], {}
    for spec in specs:
        name = spec.get('name') if isinstance(spec, dict) else None
        if not name:
            raise ValueError(f'{where}: measurement {spec!r} has no "name"')
        kinds = [k for k in KINDS if k in spec]
        extra = set(spec) - set(KINDS) - {'name'}
        if len(kinds) != 1 or extra:
            raise ValueError(f'{where}: measurement "{name}" needs "name" and exactly one of '
                             f'{KINDS}, got keys {sorted(spec)}')
        if name in seen:
            raise ValueError(f'{where}: measurement "{name}" is declared twice')
        kind = kinds[0]
        if kind == 'difference':
            terms = tuple(spec[kind])
            unknown = [t for t in terms if t not in seen]
            if len(terms) != 2 or unknown:
                raise ValueError(f'{where}: measurement "{name}": difference needs two '
                                 f'measurements declared before it, got {terms}')
            if len({seen[t] for t in terms}) != 1:
                raise ValueError(f'{where}: measurement "{name}": {terms} are not of one unit')
            resolved.append(dict(name=name, kind=kind, terms=terms))
            seen[name] = seen[terms[0]]
            continue
        points = spec[kind]
        if kind == 'line_angle':
            if len(points) != 2 or any(len(line) != 2 for line in points):
                raise ValueError(f'{where}: measurement "{name}": line_angle needs two lines of '
                                 f'two landmarks, got {points}')
            points = tuple(points[0]) + tuple(points[1])
        wanted = {'distance': 2, 'angle': 3, 'line_angle': 4}[kind]
        if len(points) != wanted:
            raise ValueError(f'{where}: measurement "{name}": {kind} needs {wanted} landmarks, '
                             f'got {tuple(points)}')
        missing = [p for p in points if str(p) not in index]
        if missing:
            raise ValueError(f'{where}: measurement "{name}" names unknown landmark(s) '
                             f'{missing}; the landmarks are {list(index)}')
        resolved.append(dict(name=name, kind=kind,
                             landmarks=tuple(index[str(p)] for p in points)))
        seen[name] = 'angle' if kind != 'distance' else 'distance'
    return tuple(resolved)


def moved_measurements(specs: Sequence[dict], offset: int, prefix: str = '') -> Tuple[dict, ...]:
    """Resolved measurements of a landmark block placed at ``offset`` in a larger layout.

    Args:
        specs (Sequence[dict]): From :func:`resolve_measurements`.
        offset (int): Channel of the block's first landmark.
        prefix (str): Put before every measurement name (and difference
            term), e.g. ``'head/'``. Defaults to none.
    """
    moved = []
    for m in specs:
        m = dict(m, name=prefix + m['name'])
        if 'landmarks' in m:
            m['landmarks'] = tuple(i + offset for i in m['landmarks'])
        else:
            m['terms'] = tuple(prefix + t for t in m['terms'])
        moved.append(m)
    return tuple(moved)


def measurement_unit(spec: dict, specs: Sequence[dict], distance_unit: str) -> str:
    """The unit a resolved measurement is reported in."""
    if spec['kind'] == 'difference':
        first = next(s for s in specs if s['name'] == spec['terms'][0])
        return measurement_unit(first, specs, distance_unit)
    return distance_unit if spec['kind'] == 'distance' else ANGLE_UNIT


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    if not (np.any(u) and np.any(v)):
        return float('nan')  # coinciding landmarks: no direction
    # atan2 of |cross| and dot stays exact near 0 and 180 degrees, arccos does not.
    return float(np.degrees(np.arctan2(abs(u[0] * v[1] - u[1] * v[0]), np.dot(u, v))))


def measure(points: np.ndarray, specs: Sequence[dict], spacing: Sequence[float],
            factor: float = 1.0, visible: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Values of resolved measurements on one image's landmarks.

    Args:
        points (np.ndarray): ``(K, 2)`` landmarks in image pixels.
        specs (Sequence[dict]): From :func:`resolve_measurements`.
        spacing (Sequence[float]): ``(x, y)`` size of one pixel.
        factor (float): Scale of distances (the calibration's per-image
            normalisation factor; 1 without one).
        visible (np.ndarray, optional): ``(K,)`` flags; a measurement that
            uses an invisible landmark is NaN.

    Returns:
        dict: Measurement name -> value (distance unit or degrees; NaN when
        not measurable).
    """
    xy = np.asarray(points, dtype=np.float64) * np.asarray(spacing, dtype=np.float64)
    seen = np.ones(len(xy), bool) if visible is None else np.asarray(visible) > 0
    values = {}
    for spec in specs:
        if spec['kind'] == 'difference':
            a, b = spec['terms']
            values[spec['name']] = values[a] - values[b]
            continue
        idx = spec['landmarks']
        if not seen[list(idx)].all():
            values[spec['name']] = float('nan')
            continue
        p = xy[list(idx)]
        if spec['kind'] == 'distance':
            values[spec['name']] = float(factor * np.linalg.norm(p[0] - p[1]))
        elif spec['kind'] == 'angle':
            values[spec['name']] = _angle(p[0] - p[1], p[2] - p[1])
        else:  # line_angle: lines have no direction, so the acute angle
            theta = _angle(p[1] - p[0], p[3] - p[2])
            values[spec['name']] = min(theta, 180.0 - theta)
    return values
