"""``stratus identity rotate-keys|setup-keys``: Fernet key management."""
from __future__ import annotations

from typing import TYPE_CHECKING

from stratus.cmd.common import load_config

if TYPE_CHECKING:
    from stratus.identity.fernet import KeyRepository


def register(sub) -> None:
    p = sub.add_parser("identity", help="identity service administration")
    isub = p.add_subparsers(dest="identity_command", required=True)
    for name, fn, text in (("rotate-keys", rotate, "rotate the Fernet token keys"),
                           ("setup-keys", setup, "create the Fernet key repository")):
        q = isub.add_parser(name, help=text)
        q.add_argument("--state-dir", default=None)
        q.set_defaults(func=fn)


def _repo(args) -> KeyRepository:
    from stratus.identity.fernet import KeyRepository     # cryptography: on call only
    conf = load_config(args, args.state_dir)
    return KeyRepository(conf.key_repository, conf.fernet_tokens.max_active_keys)


def rotate(args) -> int:
    repo = _repo(args)
    repo.setup()
    keys = repo.rotate()
    print(f"rotated Fernet keys in {repo.path}: primary {max(keys)}, keys {keys}")
    return 0


def setup(args) -> int:
    repo = _repo(args)
    print("created" if repo.setup() else "already present", repo.path)
    return 0
