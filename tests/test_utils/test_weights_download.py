"""Checkpoints by URL, served from 127.0.0.1 by the test: cache, errors, weights-only."""
import http.server
import os
import os.path as osp
import pickle
import threading

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader
from mmpose.registry import MODELS
from safetensors.torch import save_file

import mmpose_medsapiens  # noqa: F401  (installs the loaders)
from mmpose_medsapiens.utils import UnsafeCheckpointError, WeightsDownloadError
from mmpose_medsapiens.utils.weights_download import _request, cached_path, check_checkpoint_file


class _Server:
    """Serves ``files[path] = bytes``; ``truncate[path]`` sends only that many bytes."""

    def __init__(self):
        self.files, self.truncate, self.status, self.requests = {}, {}, {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append((self.path, self.headers.get('Authorization')))
                if self.path in server.status:
                    self.send_error(server.status[self.path])
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body[:server.truncate.get(self.path, len(body))])

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f'http://127.0.0.1:{self.httpd.server_address[1]}{path}'

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv('MEDSAPIENS_CACHE', str(tmp_path / 'cache'))
    srv = _Server()
    yield srv
    srv.close()


def _pth_bytes(tmp_path, state, name='w.pth'):
    path = tmp_path / name
    torch.save(state, path)
    return path.read_bytes()


def _safetensors_bytes(tmp_path, state, name='w.safetensors'):
    path = tmp_path / name
    save_file(state, str(path))
    return path.read_bytes()


def test_url_checkpoint_downloads_once_then_loads_from_the_cache(server, tmp_path):
    state = {'w': torch.arange(6.).reshape(2, 3)}
    server.files['/repo/resolve/main/sapiens.pth'] = _pth_bytes(tmp_path, state)
    url = server.url('/repo/resolve/main/sapiens.pth')

    first = CheckpointLoader.load_checkpoint(url, map_location='cpu')
    second = CheckpointLoader.load_checkpoint(url, map_location='cpu')

    assert torch.equal(first['w'], state['w']) and torch.equal(second['w'], state['w'])
    assert len(server.requests) == 1  # the second run used the cache
    assert osp.isfile(cached_path(url))
    assert osp.basename(cached_path(url)) == 'sapiens.pth'


def test_same_file_name_in_two_repositories_does_not_collide(server, tmp_path):
    a = {'x': torch.zeros(2)}
    b = {'x': torch.ones(3)}
    server.files['/a/resolve/main/model.safetensors'] = _safetensors_bytes(tmp_path, a, 'a.st')
    server.files['/b/resolve/main/model.safetensors'] = _safetensors_bytes(tmp_path, b, 'b.st')

    got_a = CheckpointLoader.load_checkpoint(server.url('/a/resolve/main/model.safetensors'))
    got_b = CheckpointLoader.load_checkpoint(server.url('/b/resolve/main/model.safetensors'))

    assert torch.equal(got_a['x'], a['x']) and torch.equal(got_b['x'], b['x'])
    assert cached_path(server.url('/a/resolve/main/model.safetensors')) != \
        cached_path(server.url('/b/resolve/main/model.safetensors'))


@pytest.mark.parametrize('name', ['w.pth', 'w.safetensors'])
def test_truncated_download_is_an_error_naming_the_url_and_caches_nothing(
        server, tmp_path, name):
    state = {'w': torch.randn(64, 64)}
    body = (_pth_bytes(tmp_path, state) if name.endswith('.pth') else
            _safetensors_bytes(tmp_path, state))
    server.files['/' + name] = body
    server.truncate['/' + name] = len(body) // 2
    url = server.url('/' + name)

    with pytest.raises(WeightsDownloadError, match=url.replace('.', r'\.')):
        CheckpointLoader.load_checkpoint(url)
    assert not osp.exists(cached_path(url))
    assert os.listdir(osp.dirname(cached_path(url))) == []  # no partial file left


@pytest.mark.parametrize('name', ['w.pth', 'w.safetensors'])
def test_cut_file_that_claims_its_own_length_is_recognised(tmp_path, name):
    # A server that reports the short length: the file's own structure tells.
    state = {'w': torch.randn(64, 64)}
    body = (_pth_bytes(tmp_path, state) if name.endswith('.pth') else
            _safetensors_bytes(tmp_path, state))
    cut = tmp_path / ('cut-' + name)
    cut.write_bytes(body[:len(body) - 100])
    with pytest.raises(WeightsDownloadError, match='http://host/' + name):
        check_checkpoint_file(str(cut), 'http://host/' + name, name.endswith('.safetensors'))


def test_html_page_instead_of_a_checkpoint_points_at_the_token(server):
    server.files['/gated/resolve/main/model.pth'] = b'<!DOCTYPE html><html>login</html>'
    url = server.url('/gated/resolve/main/model.pth')
    with pytest.raises(WeightsDownloadError, match='HF_TOKEN') as e:
        CheckpointLoader.load_checkpoint(url)
    assert url in str(e.value)
    assert not osp.exists(cached_path(url))


def test_http_401_names_the_url_and_the_token(server):
    server.status['/gated/model.safetensors'] = 401
    url = server.url('/gated/model.safetensors')
    with pytest.raises(WeightsDownloadError, match='HTTP 401.*HF_TOKEN') as e:
        CheckpointLoader.load_checkpoint(url)
    assert url in str(e.value)


def test_downloaded_pickle_is_still_read_weights_only(server, tmp_path):
    class RunsCode:
        def __reduce__(self):
            return (os.system, ('true', ))

    path = tmp_path / 'evil.pth'
    torch.save({'w': torch.zeros(1), 'x': RunsCode()}, path, pickle_module=pickle)
    server.files['/evil.pth'] = path.read_bytes()
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(server.url('/evil.pth'))


def test_token_goes_to_hugging_face_only(server, tmp_path, monkeypatch):
    monkeypatch.setenv('HF_TOKEN', 'secret')
    server.files['/w.pth'] = _pth_bytes(tmp_path, {'w': torch.zeros(1)})
    CheckpointLoader.load_checkpoint(server.url('/w.pth'))
    assert server.requests == [('/w.pth', None)]
    hf = _request('https://huggingface.co/facebook/sapiens2-pretrain-0.4b/resolve/main/x')
    assert hf.get_header('Authorization') == 'Bearer secret'
    other = _request('https://huggingface.co.example.org/x')
    assert other.get_header('Authorization') is None


def test_local_safetensors_path_loads(tmp_path):
    state = {'a': torch.randn(2, 2)}
    path = tmp_path / 'local.safetensors'
    save_file(state, str(path))
    got = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(got['a'], state['a'])


def test_sapiens2_backbone_loads_its_pretrain_by_url(server, tmp_path):
    cfg = dict(type='Sapiens2ViT', img_size=(64, 48), mhsa_layers=(1, 1), lora=None,
               arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128))
    src = MODELS.build(cfg)
    with torch.no_grad():
        for t in src.state_dict().values():
            if t.is_floating_point():
                t.add_(0.1 * torch.randn(t.shape))
    # The released layout: blocks.N, one flat safetensors file.
    state = {k.replace('layers.', 'blocks.', 1) if k.startswith('layers.') else k: v.contiguous()
             for k, v in src.state_dict().items()}
    server.files['/facebook/sapiens2-pretrain-tiny/resolve/main/model.safetensors'] = \
        _safetensors_bytes(tmp_path, state)
    url = server.url('/facebook/sapiens2-pretrain-tiny/resolve/main/model.safetensors')

    model = MODELS.build(dict(cfg, init_cfg=dict(type='Pretrained', checkpoint=url)))
    model.init_weights()

    for key, value in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, msg=key)
    assert osp.isfile(cached_path(url))
