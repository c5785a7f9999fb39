"""A CPU tensor that acts, for host transfers, like one on a GPU.

Without a GPU, code that forgets ``.cpu()`` before NumPy passes every test.
:class:`OffCPUTensor` refuses ``.numpy()`` (and ``np.asarray``) with the error
a CUDA tensor raises; ``.cpu()`` and ``.to('cpu')`` return a plain tensor, as
the move to the host would; every other operation keeps the subclass, so the
result of a computation is still "on the device".
"""
import torch


def _to_cpu(args, kwargs) -> bool:
    target = kwargs.get('device', args[1] if len(args) > 1 else None)
    if isinstance(target, torch.Tensor):
        target = target.device
    return target is not None and not isinstance(target, torch.dtype) and \
        torch.device(target).type == 'cpu'


class OffCPUTensor(torch.Tensor):
    """See the module docstring. Build with :func:`off_cpu`."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.numpy, torch.Tensor.__array__):
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() "
                            'to copy the tensor to host memory first.')
        if func is torch.Tensor.cpu or (func is torch.Tensor.to and _to_cpu(args, kwargs)):
            with torch._C.DisableTorchFunctionSubclass():
                out = func(*args, **kwargs)
            return out.as_subclass(torch.Tensor)
        return super().__torch_function__(func, types, args, kwargs)


def off_cpu(tensor: torch.Tensor) -> OffCPUTensor:
    """``tensor`` as an :class:`OffCPUTensor` (shares its memory)."""
    return tensor.as_subclass(OffCPUTensor)


def is_plain(tensor) -> bool:
    """Whether ``tensor`` is a plain ``torch.Tensor`` (moved to the host)."""
    return type(tensor) is torch.Tensor


__all__ = ['OffCPUTensor', 'off_cpu', 'is_plain']
