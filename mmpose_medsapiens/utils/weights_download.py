"""Published weights by URL: downloaded once into a cache keyed by the whole URL.

mmengine's URL loader keys its cache by file name (two repositories' files
named ``model.safetensors`` would collide), unpickles with ``torch.load``
outside this package's weights-only rule and cannot read safetensors. Here
a URL becomes ``<cache>/<sha256 of the URL>/<file name>``, written only
after the download is complete and recognised as a checkpoint, so a file in
the cache is always whole; reading it goes through the same weights-only
loader as a local path.

Hugging Face repositories that are gated (the Sapiens2 ones ask users to
accept Meta's licence) need the user's token: ``HF_TOKEN`` in the
environment is sent to ``huggingface.co`` only.
"""
import hashlib
import json
import os
import os.path as osp
import shutil
import struct
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Optional

URL_PREFIXES = ('http://', 'https://')
CACHE_ENV = 'MEDSAPIENS_CACHE'
TOKEN_ENV = 'HF_TOKEN'
_TOKEN_HOSTS = ('huggingface.co', )
_CHUNK = 1 << 20


class WeightsDownloadError(RuntimeError):
    """A checkpoint URL could not be fetched or did not hold a checkpoint."""


def is_url(path) -> bool:
    """Whether ``path`` is an ``http(s)://`` checkpoint address."""
    return isinstance(path, str) and path.startswith(URL_PREFIXES)


def weights_cache_dir() -> str:
    """``$MEDSAPIENS_CACHE/weights`` (default ``~/.cache/mmpose_medsapiens/weights``)."""
    root = os.environ.get(CACHE_ENV) or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache'),
        'mmpose_medsapiens')
    return osp.join(root, 'weights')


def cached_path(url: str, cache_dir: Optional[str] = None) -> str:
    """Where ``url`` is kept: one folder per whole URL, the file's own name inside.

    Args:
        url (str): The checkpoint's address.
        cache_dir (str, optional): Defaults to :func:`weights_cache_dir`.
    """
    parsed = urllib.parse.urlsplit(url)
    name = osp.basename(urllib.parse.unquote(parsed.path)) or 'checkpoint'
    key = hashlib.sha256(url.encode('utf-8')).hexdigest()[:32]
    return osp.join(cache_dir or weights_cache_dir(), key, name)


def is_safetensors(path: str) -> bool:
    """Whether ``path`` (a file or URL) names a safetensors file."""
    return urllib.parse.urlsplit(path).path.endswith('.safetensors')


def check_checkpoint_file(path: str, source: str, safetensors: bool) -> None:
    """Raise unless ``path`` is a whole safetensors file or a torch zip checkpoint.

    A truncated download, an HTML login page of a gated repository or any
    other file is refused here, before it reaches the cache.

    Args:
        path (str): The downloaded file.
        source (str): Its URL, for the message.
        safetensors (bool): Whether it must be a safetensors file (else a
            torch zip checkpoint).

    Raises:
        WeightsDownloadError: Naming ``source`` and what was found.
    """
    size = osp.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(8)
        if safetensors:
            if len(head) < 8:
                raise WeightsDownloadError(f'{source}: {size} bytes, not a safetensors file')
            (header_len, ) = struct.unpack('<Q', head)
            try:
                header = json.loads(f.read(header_len))
            except ValueError:
                raise WeightsDownloadError(
                    f'{source}: not a safetensors file (unreadable header; {size} bytes)')
            ends = [v['data_offsets'][1] for k, v in header.items() if k != '__metadata__']
            expected = 8 + header_len + max(ends, default=0)
            if size != expected:
                raise WeightsDownloadError(
                    f'{source}: safetensors file of {size} bytes, its header describes '
                    f'{expected}: the download is truncated or damaged')
            return
    if not zipfile.is_zipfile(path):
        text = head.lstrip().lower()
        hint = (' (an HTML page: a gated repository needs the token in HF_TOKEN)'
                if text.startswith((b'<', b'<!doc')) else '')
        raise WeightsDownloadError(
            f'{source}: {size} bytes that are not a torch checkpoint (a zip archive), '
            f'so the download is truncated or the URL points at another file{hint}')


def _request(url: str) -> urllib.request.Request:
    headers = {'User-Agent': 'mmpose_medsapiens'}
    token = os.environ.get(TOKEN_ENV)
    host = urllib.parse.urlsplit(url).hostname or ''
    if token and any(host == h or host.endswith('.' + h) for h in _TOKEN_HOSTS):
        headers['Authorization'] = f'Bearer {token}'
    return urllib.request.Request(url, headers=headers)


def download_weights(url: str, cache_dir: Optional[str] = None, timeout: float = 60.0) -> str:
    """The local copy of ``url``, downloaded first if the cache lacks it.

    Args:
        url (str): ``http(s)://`` address of a ``.pth`` or ``.safetensors``.
        cache_dir (str, optional): Defaults to :func:`weights_cache_dir`.
        timeout (float): Seconds without data before giving up.

    Returns:
        str: Path of the cached, complete file.

    Raises:
        WeightsDownloadError: HTTP error, short read, or a file that is not a
            checkpoint; the message names the URL.
    """
    dest = cached_path(url, cache_dir)
    if osp.isfile(dest):
        return dest
    os.makedirs(osp.dirname(dest), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.partial-', dir=osp.dirname(dest))
    try:
        try:
            with urllib.request.urlopen(_request(url), timeout=timeout) as response, \
                    os.fdopen(fd, 'wb') as out:
                expected = response.headers.get('Content-Length')
                shutil.copyfileobj(response, out, _CHUNK)
        except urllib.error.HTTPError as e:
            hint = (f'; a gated repository needs your access token in {TOKEN_ENV}'
                    if e.code in (401, 403) else '')
            raise WeightsDownloadError(f'{url}: HTTP {e.code} {e.reason}{hint}') from e
        except (urllib.error.URLError, OSError) as e:
            raise WeightsDownloadError(f'{url}: download failed ({e})') from e
        received = osp.getsize(tmp)
        if expected is not None and received != int(expected):
            raise WeightsDownloadError(
                f'{url}: received {received} of {expected} bytes (connection cut); '
                f'nothing was cached, run again')
        check_checkpoint_file(tmp, url, is_safetensors(url))
        # Atomic: a file at ``dest`` is always a whole, checked download.
        os.replace(tmp, dest)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return dest
