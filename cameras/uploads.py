"""Receiving footage: streamed to a temporary file, hashed on the way, limited in size,
then checked for what it really is.

`EvidenceUploadHandler` replaces Django's upload handlers for the footage-answer views
(pages and API), so a 2 GB video never sits in memory: every chunk is hashed
(SHA-256) and written to a temporary file as it arrives. A request announcing more
than the limit is refused before a byte of it is read; one that turns out bigger
while it streams is stopped there and its temporary file deleted. An upload cut off
half way never completes: Django's parser calls `upload_interrupted`, which deletes
the temporary file, and the view finds no file.

After the upload, `evidence_type` reads the file's first bytes (`filetype`) to decide
what it is, whatever its name says.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload
from django.template.defaultfilters import filesizeformat

# The form's other fields (answer, note, contact, CSRF token) and the multipart
# framing fit in this much, on top of the file itself.
FORM_OVERHEAD_BYTES = 1024 * 1024
FILE_FIELD = "file"

# What footage and stills may be: the types `filetype` recognises from a file's first bytes.
ACCEPTED_TYPES = {
    "video/mp4": "mp4",
    "video/x-m4v": "m4v",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-msvideo": "avi",
    "video/x-matroska": "mkv",
    "video/3gpp": "3gp",
    "video/mpeg": "mpg",
    "video/x-ms-wmv": "wmv",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
    "image/webp": "webp",
    "image/avif": "avif",
}
ACCEPTED_DESCRIPTION = "a video (MP4, MOV, WebM, AVI, MKV, 3GP, MPEG, WMV) or a photo (JPEG, PNG, HEIC, WebP, AVIF)"


def too_big_message() -> str:
    return f"The file is too big: the limit is {filesizeformat(settings.CAMERA_UPLOAD_MAX_BYTES)}. Nothing was kept."


class EvidenceTemporaryFile(UploadedFile):
    """An upload on its way in, in a temporary file (deleted when closed), with its hash."""

    def __init__(self, name: str, content_type: str, charset: str | None) -> None:
        folder = settings.CAMERA_UPLOAD_TEMP_DIR or settings.FILE_UPLOAD_TEMP_DIR
        file = tempfile.NamedTemporaryFile(prefix="mcv-evidence-", suffix=".upload", dir=folder)  # noqa: SIM115
        super().__init__(file, name, content_type, 0, charset)
        self.sha256 = ""

    def temporary_file_path(self) -> str:
        return self.file.name

    def close(self) -> None:
        try:
            return self.file.close()
        except FileNotFoundError:
            pass


class EvidenceUploadHandler(FileUploadHandler):
    """Stream one file to disk, hashing it, within CAMERA_UPLOAD_MAX_BYTES.

    After parsing, `refused` says why the upload was refused ("" if it was not):
    the view answers 413 (too big) or 400 with that message, and nothing is kept.
    """

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.max_bytes = settings.CAMERA_UPLOAD_MAX_BYTES
        self.refused = ""
        self.too_big = False
        self.files_seen = 0
        self._hash = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Said too big up front: answer without reading the body at all.
        if content_length and content_length > self.max_bytes + FORM_OVERHEAD_BYTES:
            self._refuse(too_big_message(), too_big=True)
            from django.http import QueryDict
            from django.utils.datastructures import MultiValueDict

            return QueryDict(), MultiValueDict()
        return None

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.files_seen += 1
        if field_name != FILE_FIELD or self.files_seen > 1:
            self._refuse("Send one file at a time, in the “file” field. Nothing was kept.")
            raise StopUpload(connection_reset=False)
        self.file = EvidenceTemporaryFile(file_name, content_type, charset)
        self._hash = hashlib.sha256()
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) > self.max_bytes:
            self._refuse(too_big_message(), too_big=True)
            self._discard()
            # The client lied about (or did not give) its size: stop reading now.
            raise StopUpload(connection_reset=True)
        self._hash.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size: int):
        self.file.flush()
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self._hash.hexdigest()
        return self.file

    def upload_interrupted(self) -> None:
        self._discard()
        if not self.refused:
            self.refused = "The upload did not finish, so nothing was kept. Please try again."

    def _refuse(self, message: str, *, too_big: bool = False) -> None:
        self.refused = self.refused or message
        self.too_big = self.too_big or too_big

    def _discard(self) -> None:
        file = getattr(self, "file", None)
        if file is not None:
            path = file.temporary_file_path()
            file.close()
            if os.path.exists(path):  # closing a NamedTemporaryFile deletes it; this is the belt to its braces
                os.remove(path)


@dataclass(frozen=True)
class EvidenceType:
    content_type: str
    extension: str


def evidence_type(path: str) -> EvidenceType | None:
    """What the file at `path` really is, if it is footage or a photo we accept; else None."""
    kind = filetype.guess(path)
    if kind is None or kind.mime not in ACCEPTED_TYPES:
        return None
    return EvidenceType(content_type=kind.mime, extension=ACCEPTED_TYPES[kind.mime])


def install_upload_handler(request) -> EvidenceUploadHandler:
    """Use only the evidence handler for this request; call before anything reads POST or FILES."""
    handler = EvidenceUploadHandler(request)
    request.upload_handlers = [handler]
    return handler
