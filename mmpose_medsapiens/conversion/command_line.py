"""What the converter command lines share: their common options and how they end.

Each tool in ``tools/dataset_converters/`` parses its own arguments; the
options several of them take are added here, so they read the same in every
tool, and :func:`run_conversion` ends every tool the same way: a bad release
stops it with ``error: <what and where>`` (exit status 1) instead of a
traceback, and a finished conversion prints what it wrote.
"""
import argparse
import sys
from typing import Callable, Iterable, Tuple, Type, TypeVar

from .release_layout import DEFAULT_VAL_FRACTION, IMAGE_MODES, IMAGES_DIR, summary_lines

Result = TypeVar('Result')


def add_validation_draw_arguments(parser: argparse.ArgumentParser, pool: str) -> None:
    """Add ``--val-fraction`` / ``--val-count`` (one of them) and ``--seed``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        pool (str): What the validation split is drawn from, as the help
            names it (``'the training files'``).
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--val-fraction', type=float, default=None,
                       help=f'share of {pool} drawn as validation (default: '
                       f'{DEFAULT_VAL_FRACTION:g}; 0: no validation split)')
    group.add_argument('--val-count', type=int, default=None,
                       help=f'number of {pool} drawn as validation')
    parser.add_argument('--seed', type=int, default=0, help='seed of the validation draw')


def add_output_arguments(parser: argparse.ArgumentParser, with_images: bool = True) -> None:
    """Add ``--images {symlink,copy}`` (unless ``with_images`` is False) and ``--overwrite``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        with_images (bool): Whether the tool places images in ``Images/``.
            Defaults to True.
    """
    if with_images:
        parser.add_argument('--images', choices=IMAGE_MODES, default='symlink',
                            help=f'how images go into OUT_DIR/{IMAGES_DIR} (default: symlink)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing files')


def run_conversion(convert: Callable[[], Result],
                   summarize: Callable[[Result], Iterable[str]] = summary_lines,
                   errors: Tuple[Type[Exception], ...] = (ValueError, OSError)) -> Result:
    """Run a conversion for a command line and print its summary.

    Args:
        convert (callable): Does the work, with no arguments; returns what
            ``summarize`` takes (by default the written files by split).
        summarize (callable): The lines to print. Defaults to
            :func:`~.release_layout.summary_lines`.
        errors (tuple): The exceptions that mean bad input, ended as
            ``error: ...``. Defaults to ``(ValueError, OSError)``.

    Returns:
        What ``convert`` returned.
    """
    try:
        result = convert()
    except errors as e:
        sys.exit(f'error: {e}')
    for line in summarize(result):
        print(line)
    return result
