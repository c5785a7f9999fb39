"""Writing files without ever replacing one silently or leaving half of one.

Every writer of the package and its tools (converters, the cache builder,
the offline evaluator) goes through these two functions: outputs are checked
before anything is written, and each file appears complete or not at all.
"""
import os
import os.path as osp
import uuid
from typing import IO, Callable, Iterable

__all__ = ['write_atomically', 'ensure_new_files']


def write_atomically(path: str, write: Callable[[IO], None], overwrite: bool = False,
                     binary: bool = False) -> str:
    """Write a file under a temporary name, then give it its name in one step.

    Readers never see a half-written file, and an interrupted run leaves
    nothing behind under ``path``.

    Args:
        path (str): Destination; parent directories are created.
        write (Callable): Writes the content into the open file it is given.
        overwrite (bool): Replace an existing file. Defaults to False.
        binary (bool): Open the file in binary mode (else UTF-8 text).
            Defaults to False.

    Returns:
        str: ``path``.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # A unique name next to the target: same file system, so the final
    # rename is atomic; 'x' mode never clobbers a stranger's file.
    tmp = osp.join(folder, f'.{osp.basename(path)}.{uuid.uuid4().hex[:12]}.tmp')
    try:
        with (open(tmp, 'xb') if binary else open(tmp, 'x', encoding='utf-8')) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_without_overwrite(tmp, path)
    finally:
        if osp.lexists(tmp):
            os.remove(tmp)
    return path


def ensure_new_files(paths: Iterable[str], overwrite: bool = False):
    """Refuse to go on when any of ``paths`` exists, unless ``overwrite``.

    Converters call this before writing any of their outputs, so that a run
    either writes every file or none.

    Args:
        paths (Iterable[str]): Files about to be written.
        overwrite (bool): Allow replacing existing files. Defaults to False.

    Raises:
        FileExistsError: Naming the existing files.
    """
    if overwrite:
        return
    existing = [p for p in paths if osp.lexists(p)]
    if existing:
        raise FileExistsError(f'Refusing to overwrite existing file(s): {", ".join(existing)} '
                              '(pass overwrite=True / --overwrite to replace them)')


def _link_without_overwrite(tmp: str, path: str):
    """Give ``tmp`` the name ``path`` only if ``path`` does not exist."""
    try:
        # A hard link fails atomically when the target exists.
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(f'Refusing to overwrite existing file: {path}') from None
    except OSError:
        # File systems without hard links: check, then rename.
        ensure_new_files([path])
        os.replace(tmp, path)
