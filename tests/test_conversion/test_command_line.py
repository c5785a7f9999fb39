"""The options and the ending the converter command lines share."""
import argparse

import pytest

from mmpose_medsapiens.conversion.command_line import (add_output_arguments,
                                                       add_validation_draw_arguments,
                                                       run_conversion)
from mmpose_medsapiens.conversion.release_layout import DEFAULT_VAL_FRACTION


def _parser(**output_kwargs):
    parser = argparse.ArgumentParser(prog='convert')
    add_validation_draw_arguments(parser, 'the training files')
    add_output_arguments(parser, **output_kwargs)
    return parser


def test_defaults_and_help():
    parser = _parser()
    args = parser.parse_args([])
    assert (args.val_fraction, args.val_count, args.seed) == (None, None, 0)
    assert (args.images, args.overwrite) == ('symlink', False)
    text = ' '.join(parser.format_help().split())  # argparse wraps lines
    fraction = f'{DEFAULT_VAL_FRACTION:g}'
    assert f'share of the training files drawn as validation (default: {fraction}' in text
    assert '0: no validation split' in text
    assert '{symlink,copy}' in text


def test_fraction_and_count_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(['--val-fraction', '0.2', '--val-count', '3'])
    assert 'not allowed with argument' in capsys.readouterr().err


def test_without_images_option():
    args = _parser(with_images=False).parse_args(['--overwrite'])
    assert args.overwrite and not hasattr(args, 'images')
    with pytest.raises(SystemExit):
        _parser(with_images=False).parse_args(['--images', 'copy'])


def test_run_conversion_prints_the_summary(capsys):
    result = run_conversion(lambda: {'train': 'out/x_coco_train_annotations.json'})
    assert result == {'train': 'out/x_coco_train_annotations.json'}
    assert 'out/x_coco_train_annotations.json' in capsys.readouterr().out


def test_run_conversion_custom_summary(capsys):
    assert run_conversion(lambda: (1, 2), lambda r: [f'sum {sum(r)}']) == (1, 2)
    assert capsys.readouterr().out == 'sum 3\n'


@pytest.mark.parametrize('error', [ValueError('sample 3 of a.json: no landmarks'),
                                   FileNotFoundError('missing.png')])
def test_bad_input_ends_with_one_error_line(error):
    def convert():
        raise error

    with pytest.raises(SystemExit) as exc:
        run_conversion(convert)
    assert exc.value.code == f'error: {error}'


def test_other_errors_are_not_hidden():
    def convert():
        raise TypeError('a bug')

    with pytest.raises(TypeError):
        run_conversion(convert)
    with pytest.raises(SystemExit):
        run_conversion(convert, errors=(TypeError, ))
