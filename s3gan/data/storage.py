"""One filesystem layer for datasets: local paths and ``s3://`` URIs through ``pyarrow.fs``.

Credentials come from the standard AWS chain (environment, profile, web identity), never
from the spec; the spec's ``storage.endpoint``/``storage.region`` only say where to connect,
so the same code talks to AWS, GCS's S3 interoperability and on-prem S3 servers.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow.fs as pafs

from s3gan.spec.model import Storage

# Servers that predate flexible checksums (Swift's s3api, GCS, most on-prem S3) answer
# "501 NotImplemented: aws-chunked" to the SDK's default; checksum only when an API requires it.
# Public so that processes opening s3:// paths on our behalf (Ray Train's controller) get it too.
S3_CLIENT_ENVIRONMENT = {
    "AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_REQUIRED",
}
CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 60.0
MAX_ATTEMPTS = 2  # an unreachable endpoint fails in seconds, a flaky one still gets a retry
PARTIAL = ".partial-"  # marks a local temporary that is renamed into place once complete


class StorageError(OSError):
    """A storage operation failed; the message names the URI and the cause."""


class StorageNotFound(StorageError):
    """The file does not exist (as opposed to existing out of reach)."""


@dataclass(frozen=True)
class Location:
    """A directory on some filesystem: ``fs`` plus the ``root`` path inside it."""

    uri: str
    fs: pafs.FileSystem
    root: str
    storage: Storage

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def url(self, relative: str) -> str:
        return f"{self.uri.rstrip('/')}/{relative}"

    def exists(self, relative: str) -> bool:
        kind = self._call(relative, lambda p: self.fs.get_file_info(p).type)
        return kind != pafs.FileType.NotFound

    def read_bytes(self, relative: str) -> bytes:
        def read(p):
            with self.fs.open_input_stream(p) as f:
                return f.read()

        return self._call(relative, read)

    def list_files(self, relative: str) -> list[str]:
        """Names of the files directly in ``relative`` (empty if it does not exist)."""
        selector = pafs.FileSelector(self.path(relative), allow_not_found=True)
        infos = self._call(relative, lambda _: self.fs.get_file_info(selector))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.File)

    def is_empty(self) -> bool:
        selector = pafs.FileSelector(self.root, allow_not_found=True, recursive=False)
        return not self._call("", lambda _: self.fs.get_file_info(selector))

    def write_whole(self, relative: str, data: bytes) -> None:
        """Write ``data`` so that readers see all of it or nothing: a renamed temporary file
        locally; on S3 one upload that becomes visible only when it completes."""
        target = self.path(relative)
        if isinstance(self.fs, pafs.LocalFileSystem):
            self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
            temporary = f"{target}{PARTIAL}{uuid.uuid4().hex}"
            with open(temporary, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, target)
            return

        def upload(p):
            with self.fs.open_output_stream(p) as f:
                f.write(data)

        self._call(relative, upload)

    def delete(self, relative: str) -> None:
        self._call(relative, self.fs.delete_file)

    def _call(self, relative, operation):
        try:
            return operation(self.path(relative))
        except FileNotFoundError as e:
            raise StorageNotFound(f"{self.url(relative)}: not found") from e
        except OSError as e:
            raise StorageError(f"{self.url(relative)}: {_explain(e)}") from e


def _explain(error: OSError) -> str:
    text = str(error)
    if "ACCESS_DENIED" in text or "InvalidAccessKeyId" in text or "SignatureDoesNotMatch" in text:
        return f"access denied: check the AWS credentials (environment or profile) — {text}"
    if "NETWORK_CONNECTION" in text or "Couldn't connect" in text or "curlCode: 7" in text:
        return f"endpoint unreachable — {text}"
    return text


def open_location(uri: str, storage: Storage | None = None) -> Location:
    """The dataset directory ``uri``: a local path, ``file://`` or ``s3://bucket/prefix``."""
    storage = storage or Storage()
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = os.path.abspath(parsed.path if parsed.scheme else uri)
        return Location(uri=path, fs=pafs.LocalFileSystem(), root=path, storage=storage)
    if parsed.scheme != "s3":
        raise StorageError(f"{uri}: unsupported scheme {parsed.scheme!r} (use a path or s3://)")
    if not parsed.netloc:
        raise StorageError(f"{uri}: an s3:// URI needs a bucket")
    return Location(
        uri=uri.rstrip("/"),
        fs=s3_filesystem(storage),
        root=f"{parsed.netloc}{parsed.path}".rstrip("/"),
        storage=storage,
    )


def s3_filesystem(storage: Storage) -> pafs.S3FileSystem:
    for name, value in S3_CLIENT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    options = {}
    if storage.endpoint:
        endpoint = urlparse(storage.endpoint)
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise StorageError(
                f"storage.endpoint {storage.endpoint!r}: expected http(s)://host[:port]"
            )
        options.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme)
    return pafs.S3FileSystem(
        region=storage.region or ("us-east-1" if storage.endpoint else None),
        connect_timeout=CONNECT_TIMEOUT_S,
        request_timeout=REQUEST_TIMEOUT_S,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=MAX_ATTEMPTS),
        **options,
    )
