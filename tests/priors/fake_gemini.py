"""A local stand-in for the Gemini REST API, for tests and benchmarks.

It speaks the shape google-genai sends on ``127.0.0.1`` (port 0, so parallel
test workers never collide):

* ``POST /v1beta/models/{model}:generateContent``
* the Files API resumable upload: ``POST /upload/v1beta/files`` (start) then
  ``POST`` to the returned ``X-Goog-Upload-URL`` (``upload, finalize``),
  ``GET /v1beta/files/{id}`` and ``DELETE /v1beta/files/{id}``.

Which clip a request is about is read from the video bytes: tests build them
with :func:`synthetic_mp4`, which embeds ``MERCLIP:<name>``. Every request is
logged (:attr:`FakeGemini.requests`) so a test can count calls per clip.

Behaviour is scriptable per clip: ``fake.script['c1'] = [http(429), OK]``
answers the first call for ``c1`` with a 429 and the second normally; calls
past the end of a script (and unscripted clips) get :attr:`default`.
"""
import base64
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Sequence

CLASSES = ('neutral', 'angry', 'happy', 'sad', 'worried', 'surprise')
_MARKER = re.compile(rb'MERCLIP:([^\n]+)\n')
_GENERATE = re.compile(r'^/v1beta/models/([^/:]+):generateContent$')


def synthetic_mp4(name: str, size: int = 256) -> bytes:
    """Bytes that start like an mp4 and name their clip (for the fake)."""
    head = b'\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom'
    body = head + b'MERCLIP:' + name.encode() + b'\n'
    return body + b'\x00' * max(0, size - len(body))


def prior_payload(name: str, classes: Sequence[str] = CLASSES) -> dict:
    """A valid teacher reply for ``name``, deterministic in the name."""
    digest = hashlib.sha256(name.encode()).digest()
    label = classes[digest[0] % len(classes)]
    scores = {c: (0.8 if c == label else round(digest[i + 1] / 2550, 3))
              for i, c in enumerate(classes)}
    return {
        'visual_reasoning': f'{name}: AU6 and AU12 are active.',
        'action_units': [6, 12],
        'prosody_reasoning': 'Raised pitch, fast speech rate.',
        'subtitle_semantics': 'The speaker describes good news.',
        'contributions': {'video': 50, 'audio': 30, 'text': 20},
        'scores': scores,
        'label': label,
        'reasoning': 'Face and voice agree.',
    }


# --- scripted actions ---------------------------------------------------------
OK = {'kind': 'ok'}
BAD_BODY = {'kind': 'bad_body'}          # HTTP 200 whose body is not JSON
DROP = {'kind': 'drop'}                  # close the connection, no reply
NON_JSON_TEXT = {'kind': 'text', 'text': 'I think the person is happy.'}
EMPTY = {'kind': 'text', 'text': ''}
SAFETY = {'kind': 'safety'}              # candidate finishReason SAFETY
PROMPT_BLOCKED = {'kind': 'prompt_blocked'}


def http(status: int, retry_delay: Optional[str] = None) -> dict:
    """An error reply with the API's JSON error body."""
    return {'kind': 'http', 'status': status, 'retry_delay': retry_delay}


def text(payload) -> dict:
    """A 200 reply whose model text is ``payload`` (JSON-dumped if not str)."""
    return {'kind': 'text',
            'text': payload if isinstance(payload, str) else json.dumps(payload)}


def slow(action: dict, seconds: float) -> dict:
    """``action`` after an extra delay of ``seconds``."""
    return dict(action, delay=seconds)


@dataclass
class FakeRequest:
    """One request the fake received."""
    method: str
    path: str
    clip: Optional[str]
    api_key: Optional[str]
    body: Optional[dict] = None
    time: float = field(default_factory=time.monotonic)


class FakeGemini:
    """A threaded fake Gemini server; use as a context manager.

    Subclasses speak other APIs by setting :attr:`handler_class` (the
    request handler; None: Gemini's) and :attr:`generate_path` (what marks a
    model call in the request log).

    Args:
        latency: seconds every generateContent call waits before answering.
        keep_bodies: keep each generateContent JSON body in the request log.
        classes: class names used by the default valid reply.
    """

    handler_class: Optional[type] = None
    generate_path = ':generateContent'

    def __init__(self, latency: float = 0.0, keep_bodies: bool = False,
                 classes: Sequence[str] = CLASSES) -> None:
        self.latency = latency
        self.keep_bodies = keep_bodies
        self.classes = tuple(classes)
        self.default: dict = OK
        self.script: Dict[str, List[dict]] = {}
        self.requests: List[FakeRequest] = []
        self.files: Dict[str, bytes] = {}
        #: an HTTP status answering every upload start (None: accept them)
        self.upload_error: Optional[int] = None
        self.max_inflight = 0
        self._inflight = 0
        self._lock = threading.Lock()
        self._uploads: Dict[str, dict] = {}
        self._server: Optional[ThreadingHTTPServer] = None

    # --- lifecycle -----------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def start(self) -> 'FakeGemini':
        handler = type('Handler', (self.handler_class or _Handler,),
                       {'fake': self})
        self._server = _Server(('127.0.0.1', 0), handler)
        threading.Thread(target=self._server.serve_forever,
                         kwargs={'poll_interval': 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> 'FakeGemini':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- queries for tests ---------------------------------------------------
    def generate_calls(self, clip: Optional[str] = None) -> List[FakeRequest]:
        """generateContent requests, optionally only those for ``clip``."""
        with self._lock:
            calls = [r for r in self.requests if self.generate_path in r.path]
        return [r for r in calls if clip is None or r.clip == clip]

    def calls_per_clip(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for r in self.generate_calls():
            counts[r.clip] = counts.get(r.clip, 0) + 1
        return counts

    # --- internals -----------------------------------------------------------
    def _next_action(self, clip: Optional[str]) -> dict:
        with self._lock:
            queue = self.script.get(clip)
            return queue.pop(0) if queue else self.default

    def _log(self, request: FakeRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _enter(self) -> None:
        with self._lock:
            self._inflight += 1
            self.max_inflight = max(self.max_inflight, self._inflight)

    def _leave(self) -> None:
        with self._lock:
            self._inflight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of 16 new
    # connections would see dropped SYNs and 1 s retransmits.
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        # A client killed mid-connection (the kill tests) is expected here.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _clip_of(data: bytes) -> Optional[str]:
    match = _MARKER.search(data)
    return match.group(1).decode() if match else None


def _usage(prompt: int, output: int) -> dict:
    return {'promptTokenCount': prompt, 'candidatesTokenCount': output,
            'totalTokenCount': prompt + output}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGemini
    protocol_version = 'HTTP/1.1'  # keep-alive, as the real API
    # Headers and body go out in two writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK (~40 ms a reply on Linux).
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def _send(self, status: int, body: bytes, headers: Optional[dict] = None,
              content_type: str = 'application/json; charset=UTF-8') -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to report

    def _json(self, status: int, obj: dict, headers: Optional[dict] = None):
        self._send(status, json.dumps(obj).encode(), headers)

    # --- routing -------------------------------------------------------------
    def do_POST(self) -> None:
        path = self.path.split('?')[0]
        if _GENERATE.match(path):
            return self._generate()
        if path == '/upload/v1beta/files' and 'upload_id=' in self.path:
            return self._upload_bytes()
        if path == '/upload/v1beta/files':
            return self._upload_start()
        self._json(404, {'error': {'code': 404, 'message': 'no route',
                                   'status': 'NOT_FOUND'}})

    def do_GET(self) -> None:
        file_id = self.path.split('?')[0].rsplit('/', 1)[-1]
        self.fake._log(FakeRequest('GET', self.path, None,
                                   self.headers.get('x-goog-api-key')))
        if file_id not in self.fake.files:
            return self._json(404, {'error': {'code': 404, 'message': 'gone',
                                              'status': 'NOT_FOUND'}})
        self._json(200, self._file_json(file_id))

    def do_DELETE(self) -> None:
        file_id = self.path.split('?')[0].rsplit('/', 1)[-1]
        self.fake._log(FakeRequest('DELETE', self.path, None,
                                   self.headers.get('x-goog-api-key')))
        self.fake.files.pop(file_id, None)
        self._json(200, {})

    # --- Files API -----------------------------------------------------------
    def _file_json(self, file_id: str, state: str = 'ACTIVE') -> dict:
        return {'name': f'files/{file_id}', 'mimeType': 'video/mp4',
                'sizeBytes': str(len(self.fake.files[file_id])),
                'uri': f'{self.fake.url}/v1beta/files/{file_id}',
                'state': state}

    def _upload_start(self) -> None:
        self._body()
        upload_id = uuid.uuid4().hex
        self.fake._uploads[upload_id] = {'data': b''}
        self.fake._log(FakeRequest('POST', self.path, None,
                                   self.headers.get('x-goog-api-key')))
        if self.fake.upload_error is not None:
            code = self.fake.upload_error
            return self._json(code, {'error': {
                'code': code, 'message': 'upload refused',
                'status': 'UNAVAILABLE'}})
        url = f'{self.fake.url}/upload/v1beta/files?upload_id={upload_id}'
        self._json(200, {}, {'X-Goog-Upload-URL': url,
                             'X-Goog-Upload-Status': 'active'})

    def _upload_bytes(self) -> None:
        upload_id = self.path.split('upload_id=')[1].split('&')[0]
        upload = self.fake._uploads[upload_id]
        upload['data'] += self._body()
        clip = _clip_of(upload['data'])
        self.fake._log(FakeRequest('POST', self.path, clip,
                                   self.headers.get('x-goog-api-key')))
        if 'finalize' not in self.headers.get('X-Goog-Upload-Command', ''):
            return self._json(200, {}, {'X-Goog-Upload-Status': 'active'})
        file_id = upload_id[:12]
        self.fake.files[file_id] = upload['data']
        # Videos are processed after upload: the first answer says so, a
        # later GET finds the file ACTIVE.
        self._json(200, {'file': self._file_json(file_id, 'PROCESSING')},
                   {'X-Goog-Upload-Status': 'final'})

    # --- generateContent -----------------------------------------------------
    def _request_clip(self, body: dict) -> Optional[str]:
        for content in body.get('contents', []):
            for part in content.get('parts', []):
                inline = part.get('inlineData') or part.get('inline_data')
                if inline:
                    return _clip_of(base64.urlsafe_b64decode(inline['data']))
                file_data = part.get('fileData') or part.get('file_data')
                if file_data:
                    uri = file_data.get('fileUri') or file_data.get('file_uri')
                    return _clip_of(self.fake.files.get(uri.rsplit('/', 1)[-1],
                                                         b''))
        return None

    # Hooks a subclass handler for another API replaces.
    key_header = 'x-goog-api-key'

    def _reject(self, body: dict) -> bool:
        """Answer a request the API refuses outright; True if answered."""
        return False

    def _generate(self) -> None:
        """One model call: log it, wait, then answer the clip's action."""
        fake = self.fake
        raw = self._body()
        try:
            body = json.loads(raw)
        except ValueError:  # the client died mid-request: never processed
            self.close_connection = True
            return
        clip = self._request_clip(body)
        fake._log(FakeRequest('POST', self.path, clip,
                              self.headers.get(self.key_header),
                              body if fake.keep_bodies else None))
        if self._reject(body):
            return
        action = fake._next_action(clip)
        fake._enter()
        try:
            time.sleep(fake.latency + action.get('delay', 0.0))
        finally:
            fake._leave()
        if action['kind'] == 'drop':
            self.close_connection = True
        elif action['kind'] == 'bad_body':
            self._send(200, b'<html>upstream proxy error</html>',
                       content_type='text/html')
        else:
            self._reply(action, clip, len(raw) // 4)

    def _reply(self, action: dict, clip: Optional[str], prompt: int) -> None:
        kind = action['kind']
        if kind == 'http':
            status = action['status']
            error = {'code': status, 'message': f'fake error {status}',
                     'status': 'RESOURCE_EXHAUSTED' if status == 429
                     else 'INTERNAL'}
            if action.get('retry_delay'):
                error['details'] = [{
                    '@type': 'type.googleapis.com/google.rpc.RetryInfo',
                    'retryDelay': action['retry_delay']}]
            return self._json(status, {'error': error})
        if kind == 'prompt_blocked':
            return self._json(200, {
                'promptFeedback': {'blockReason': 'SAFETY'},
                'usageMetadata': _usage(prompt, 0)})
        if kind == 'safety':
            return self._json(200, {
                'candidates': [{'finishReason': 'SAFETY', 'index': 0,
                                'safetyRatings': [{
                                    'category': 'HARM_CATEGORY_HARASSMENT',
                                    'probability': 'HIGH'}]}],
                'usageMetadata': _usage(prompt, 0)})
        reply = (json.dumps(prior_payload(clip or 'unknown', self.fake.classes))
                 if kind == 'ok' else action['text'])
        output = max(1, len(reply) // 4)
        self._json(200, {
            'candidates': [{'content': {'parts': [{'text': reply}],
                                        'role': 'model'},
                            'finishReason': 'STOP', 'index': 0}],
            'usageMetadata': _usage(prompt, output),
            'modelVersion': 'fake-gemini'})
