"""The session-signing key of the embedded default: random, made on first start, kept in the
instance folder (mode 0600), so that no two installations share one and none uses a key
published with the source. Production sets SECRET_KEY in the environment."""
from __future__ import annotations

import os
import secrets

FILE_NAME = "secret_key"
MIN_LENGTH = 32


def instance_secret_key(instance_path: str) -> str:
    """The key kept in `instance_path`, created if there is none (several processes starting
    at once agree on one: the file is linked into place, never overwritten)."""
    path = os.path.join(instance_path, FILE_NAME)
    key = _read(path)
    if key:
        return key
    os.makedirs(instance_path, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_hex(32).encode())
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process put its key there first
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    key = _read(path)
    if not key:
        raise RuntimeError(f"无法读取会话密钥文件 {path}：请删除该文件后重新启动。")
    return key


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as fh:
            key = fh.read().strip()
    except FileNotFoundError:
        return None
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o600)  # readable by others: tighten it
    return key if len(key) >= MIN_LENGTH else None
