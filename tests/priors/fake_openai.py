"""A local stand-in for an OpenAI-compatible chat-completions server.

``POST /v1/chat/completions`` on ``127.0.0.1`` (port 0), built on
:class:`fake_gemini.FakeGemini` (same scripts, request log, latency and
in-flight count). Which clip a request is about is read from its image parts:
tests write face frames with :func:`write_frames`, whose bytes end with
``MERCLIP:<name>``.

Actions (``fake.script['c1'] = [...]``): the shared ``OK``, ``BAD_BODY``,
``DROP``, ``NON_JSON_TEXT``, ``EMPTY``, ``http(status, retry_delay)`` (here a
``Retry-After`` header), ``text(...)``, ``slow(...)``, and
:data:`REFUSAL` (``message.refusal``), :data:`CONTENT_FILTER`
(``finish_reason`` content_filter), :data:`CUT` (``finish_reason`` length).
``fake.accept_response_format = False`` answers 400 to any request that sets
``response_format``, as servers without structured output do; then
``fake.fence = True`` wraps the JSON reply in a Markdown fence, as such
models often do.
"""
import base64
import json
import os
import os.path as osp
import re
from typing import List, Optional

from fake_gemini import FakeGemini, _clip_of, _Handler, prior_payload

REFUSAL = {'kind': 'refusal'}
CONTENT_FILTER = {'kind': 'content_filter'}
CUT = {'kind': 'cut', 'text': '{"visual_reasoning": "The'}
_DATA_URL = re.compile(r'^data:[^;]+;base64,(.*)$', re.S)


def write_frames(root: str, names, count: int = 3) -> str:
    """``<root>/frames/<name>/000.png ...``: tiny PNGs naming their clip."""
    from PIL import Image
    folder = osp.join(root, 'frames')
    for name in names:
        os.makedirs(osp.join(folder, name), exist_ok=True)
        for i in range(count):
            path = osp.join(folder, name, f'{i:03d}.png')
            Image.new('RGB', (16, 16), (40 * i, 80, 120)).save(path)
            with open(path, 'ab') as f:  # decoders ignore bytes after IEND
                f.write(b'MERCLIP:' + name.encode() + b'\n')
    return folder


def image_parts(body: dict) -> List[bytes]:
    """The decoded images of a request body, in order."""
    out = []
    for message in body.get('messages', []):
        content = message.get('content')
        for part in content if isinstance(content, list) else []:
            if part.get('type') == 'image_url':
                match = _DATA_URL.match(part['image_url']['url'])
                out.append(base64.b64decode(match.group(1)))
    return out


class FakeOpenAI(FakeGemini):
    """A threaded fake OpenAI-compatible server (see module doc)."""

    generate_path = '/chat/completions'

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.accept_response_format = True
        self.fence = False

    @property
    def base_url(self) -> str:
        return self.url + '/v1'


class _OpenAIHandler(_Handler):
    fake: FakeOpenAI
    key_header = 'Authorization'

    def do_POST(self) -> None:
        if self.path.split('?')[0] != '/v1/chat/completions':
            return self._json(404, {'error': {'message': 'no route'}})
        self._generate()

    def _request_clip(self, body: dict) -> Optional[str]:
        images = image_parts(body)
        return _clip_of(images[0]) if images else None

    def _reject(self, body: dict) -> bool:
        if 'response_format' in body and not self.fake.accept_response_format:
            self._json(400, {'error': {
                'message': 'response_format is not supported by this model',
                'type': 'invalid_request_error'}})
            return True
        return False

    def _reply(self, action: dict, clip: Optional[str], prompt: int) -> None:
        kind = action['kind']
        if kind == 'http':
            status = action['status']
            headers = ({'Retry-After': action['retry_delay'].rstrip('s')}
                       if action.get('retry_delay') else None)
            return self._json(status, {'error': {
                'message': f'fake error {status}', 'code': status}}, headers)
        message = {'role': 'assistant', 'content': None}
        finish = 'stop'
        if kind == 'refusal':
            message['refusal'] = 'I cannot help with identifying emotions.'
        elif kind == 'content_filter':
            finish = 'content_filter'
        else:
            reply = (json.dumps(prior_payload(clip or 'unknown',
                                              self.fake.classes))
                     if kind == 'ok' else action['text'])
            if kind == 'ok' and self.fake.fence:
                reply = f'```json\n{reply}\n```'
            message['content'] = reply
            finish = 'length' if kind == 'cut' else 'stop'
        output = max(1, len(message['content'] or '') // 4)
        self._json(200, {
            'id': 'chatcmpl-fake', 'object': 'chat.completion',
            'model': 'fake-openai',
            'choices': [{'index': 0, 'message': message,
                         'finish_reason': finish}],
            'usage': {'prompt_tokens': prompt, 'completion_tokens': output,
                      'total_tokens': prompt + output}})


FakeOpenAI.handler_class = _OpenAIHandler
