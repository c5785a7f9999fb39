"""The numpy objects a pickle of plain arrays refers to: one allow-list.

Both loaders that refuse arbitrary pickled code use it: checkpoints
(:mod:`~mmpose_medsapiens.utils.safe_checkpoint`, through ``torch.load(
weights_only=True)``) and prediction dumps
(:mod:`~mmpose_medsapiens.evaluation.offline_evaluation`). numpy's private module moved in
2.0, hence both spellings; entries that do not exist are ignored.
"""

#: ``module:attribute`` of every global that pickled numpy arrays, dtypes and
#: scalars need.
NUMPY_PICKLE_GLOBALS = (
    'numpy:ndarray',
    'numpy:dtype',
    'numpy.core.multiarray:_reconstruct',
    'numpy.core.multiarray:scalar',
    'numpy._core.multiarray:_reconstruct',
    'numpy._core.multiarray:scalar',
    'numpy.core.numeric:_frombuffer',
    'numpy._core.numeric:_frombuffer',
    'numpy.dtypes:Float64DType',
    'numpy.dtypes:Float32DType',
    'numpy.dtypes:Int64DType',
    'numpy.dtypes:Int32DType',
    'numpy.dtypes:UInt8DType',
    'numpy.dtypes:BoolDType',
)
