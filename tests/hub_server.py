"""A small Hub-compatible HTTP server for tests: the real ``huggingface_hub`` client and ``datasets`` talk to
it through ``HF_ENDPOINT`` exactly as they talk to huggingface.co.

It answers the requests a dataset or model push and a reload make, following the Hub's wire protocol (shown
for datasets; a model repo has the same routes under ``/api/models/{repo}``, its LFS batch at
``/{repo}.git/info/lfs/objects/batch`` and its files at ``/{repo}/resolve/{rev}/{path}``):

- ``POST /api/repos/create``; ``GET /api/datasets/{repo}[/revision/{rev}]`` (repo info);
  ``POST /api/datasets/{repo}/branch/{branch}``;
- ``POST /api/datasets/{repo}/preupload/{rev}`` (parquet, images and large or binary files go to LFS);
- ``POST /datasets/{repo}.git/info/lfs/objects/batch`` (no ``actions`` for a blob already stored), the upload
  URL it hands out (``PUT /lfs-upload/{repo}/{oid}``, checked against the sha256) and the verify action;
- ``GET /api/datasets/{repo}/tree/{rev}[/{path}]`` (404 ``X-Error-Code: EntryNotFound`` for a missing path),
  ``POST /api/datasets/{repo}/paths-info/{rev}``;
- ``POST /api/validate-yaml``; ``POST /api/datasets/{repo}/commit/{rev}`` (NDJSON: header, file, lfsFile,
  deletedFile, deletedFolder);
- ``GET``/``HEAD /datasets/{repo}/resolve/{rev}/{path}`` with byte ranges.

Authentication: ``tokens`` maps a token to its user name; a user may write to its own namespace and to the
namespaces in ``orgs[user]``; ``read_only`` tokens may read but not write (403). An unknown token gets 401
``Invalid credentials in Authorization header``, as on the Hub. Everything is kept in memory.

Fault injection: ``fail_lfs_uploads_after = N`` makes every LFS upload after the first N answer 507, which the
client does not retry (an interrupted push). ``requests`` logs ``(method, path)`` of every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

#: Extensions the Hub's default ``.gitattributes`` sends to LFS (the ones a CelebAMat dataset has).
LFS_SUFFIXES = (".parquet", ".arrow", ".png", ".jpg", ".jpeg", ".webp", ".npy", ".npz", ".safetensors", ".bin",
                ".onnx", ".zip", ".gz", ".tar")
#: Files at least this large go to LFS whatever their name (the Hub's threshold is 10 MB).
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024

_GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES).encode()


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass(frozen=True)
class Entry:
    """One file of a commit: regular (``content``) or LFS (``sha256`` and ``size`` of a stored blob)."""

    content: bytes | None = None
    sha256: str | None = None
    size: int = 0

    def tree_json(self, path: str) -> dict:
        if self.content is not None:
            return {"type": "file", "oid": git_blob_sha1(self.content), "size": len(self.content), "path": path}
        pointer = lfs_pointer(self.sha256, self.size)
        return {
            "type": "file",
            "oid": git_blob_sha1(pointer),
            "size": self.size,
            "path": path,
            "lfs": {"oid": self.sha256, "size": self.size, "pointerSize": len(pointer)},
        }


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    date: str
    files: dict[str, Entry]


@dataclass
class Repo:
    repo_id: str
    private: bool
    created: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        oid = self.branches.get(revision, revision)
        return self.commits.get(oid)


class HubState:
    """Everything the server holds, shared between request threads (guarded by ``lock``)."""

    def __init__(self, tokens: dict[str, str], orgs: dict[str, list[str]] | None, read_only: set[str]) -> None:
        self.tokens = dict(tokens)
        self.orgs = dict(orgs or {})
        self.read_only = set(read_only)
        self.repos: dict[str, Repo] = {}  # dataset repos
        self.models: dict[str, Repo] = {}  # model repos (another namespace, as on the Hub)
        self.lfs: dict[tuple[str, str], bytes] = {}  # (repo id, sha256) -> blob: LFS storage is per repo
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.lfs_uploads: list[str] = []  # sha256 of every completed LFS upload, in order
        self.fail_lfs_uploads_after: int | None = None

    def new_commit(self, repo: Repo, branch: str, title: str, files: dict[str, Entry]) -> Commit:
        parent = repo.branches.get(branch)
        date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        digest = hashlib.sha1(f"{repo.repo_id}\n{parent}\n{title}\n{time.time_ns()}\n{len(repo.commits)}".encode())
        commit = Commit(digest.hexdigest(), parent, title, date, files)
        repo.commits[commit.oid] = commit
        repo.branches[branch] = commit.oid
        return commit


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


_REPO = r"(?P<repo>[^/]+/[^/]+?)"
_KIND = r"(?P<kind>datasets|models)"
#: kind in URLs -> (singular in messages, LFS storage prefix)
_KINDS = {"datasets": ("dataset", ""), "models": ("model", "model:")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args) -> None:  # keep pytest output clean
        pass

    # -- plumbing ---------------------------------------------------------------------------------------
    @property
    def state(self) -> HubState:
        return self.server.state

    @property
    def base(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False) -> None:
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        for key, value in headers.items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, status: int, payload, headers: dict | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        body = self._body() if method in ("POST", "PUT") else b""
        with self.state.lock:
            self.state.requests.append((method, path))
        try:
            for verb, pattern, handler in _ROUTES:
                if verb == method or (verb == "GET" and method == "HEAD"):
                    match = re.fullmatch(pattern, path)
                    if match:
                        groups = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                        if groups.get("kind") == "":  # the unprefixed LFS and file routes of model repos
                            groups["kind"] = "models"
                        return handler(self, body=body, query=query, head=method == "HEAD", **groups)
            raise HttpError(404, f"Sorry, we can't find the page you are looking for: {method} {path}")
        except HttpError as err:
            headers = {"X-Error-Message": err.message}
            if err.code:
                headers["X-Error-Code"] = err.code
            payload = json.dumps({"error": err.message, **err.extra}).encode()
            self._send(err.status, payload, headers, head=method == "HEAD")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # -- auth -------------------------------------------------------------------------------------------
    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if not auth:
            return None
        token = auth.removeprefix("Bearer ").strip()
        user = self.state.tokens.get(token)
        if user is None:
            raise HttpError(401, "Invalid credentials in Authorization header")
        return user

    def _can_write(self, namespace: str) -> bool:
        auth = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        user = self._user()
        if user is None or auth in self.state.read_only:
            return False
        return namespace == user or namespace in self.state.orgs.get(user, [])

    def _store(self, kind: str) -> dict[str, Repo]:
        return self.state.models if kind == "models" else self.state.repos

    def _repo(self, repo_id: str, write: bool = False, kind: str = "datasets") -> Repo:
        user = self._user()
        repo = self._store(kind).get(repo_id)
        namespace = repo_id.split("/")[0]
        if repo is None or (repo.private and (user is None or not self._readable(namespace, user))):
            raise HttpError(404 if user else 401, "Repository not found", "RepoNotFound")
        if write and not self._can_write(namespace):
            raise HttpError(403, f"You don't have write access to {_KINDS[kind][0]} {repo_id}")
        return repo

    def _readable(self, namespace: str, user: str) -> bool:
        return namespace == user or namespace in self.state.orgs.get(user, [])

    def _commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    # -- repos ------------------------------------------------------------------------------------------
    def create_repo(self, body: bytes, **_) -> None:
        payload = json.loads(body or b"{}")
        user = self._user()
        if user is None:
            raise HttpError(401, "You must be authenticated to create a repo")
        namespace = payload.get("organization") or user
        repo_id = f"{namespace}/{payload['name']}"
        kind = {"dataset": "datasets", None: "models", "model": "models"}.get(payload.get("type"))
        if kind is None:
            raise HttpError(400, "this test server only holds dataset and model repos")
        what = _KINDS[kind][0]
        if not self._can_write(namespace):
            raise HttpError(403, f"You don't have the rights to create a {what} under the namespace \"{namespace}\"")
        private = payload.get("visibility", "private" if payload.get("private") else "public") == "private"
        url = f"{self.base}/datasets/{repo_id}" if kind == "datasets" else f"{self.base}/{repo_id}"
        with self.state.lock:
            if repo_id in self._store(kind):
                raise HttpError(409, f"You already created this {what} repo", extra={"url": url})
            repo = Repo(repo_id, private, time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
            self.state.new_commit(repo, "main", "initial commit", {".gitattributes": Entry(content=_GITATTRIBUTES)})
            self._store(kind)[repo_id] = repo
        self._json(200, {"url": url, "name": repo_id, "id": hashlib.md5(repo_id.encode()).hexdigest()[:24]})

    def repo_info(self, repo: str, rev: str = "main", head: bool = False, kind: str = "datasets", **_) -> None:
        r = self._repo(repo, kind=kind)
        commit = self._commit(r, rev)
        card = None
        if "README.md" in commit.files and commit.files["README.md"].content is not None:
            card = _front_matter(commit.files["README.md"].content.decode())
        info = {
            "_id": hashlib.md5(repo.encode()).hexdigest()[:24],
            "id": repo,
            "author": repo.split("/")[0],
            "sha": commit.oid,
            "lastModified": r.commits[r.branches["main"]].date,
            "createdAt": r.created,
            "private": r.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "cardData": card,
            "siblings": [{"rfilename": p} for p in sorted(commit.files)],
        }
        self._json(200, info)

    def create_branch(self, body: bytes, repo: str, branch: str, kind: str = "datasets", **_) -> None:
        r = self._repo(repo, write=True, kind=kind)
        start = json.loads(body or b"{}").get("startingPoint") or "main"
        with self.state.lock:
            if branch in r.branches:
                raise HttpError(409, f"Reference already exists: refs/heads/{branch}")
            r.branches[branch] = self._commit(r, start).oid
        self._json(200, {})

    # -- upload -----------------------------------------------------------------------------------------
    def preupload(self, body: bytes, repo: str, rev: str, kind: str = "datasets", **_) -> None:
        r = self._repo(repo, write=True, kind=kind)
        commit = self._commit(r, rev)
        answers = []
        for f in json.loads(body)["files"]:
            sample = base64.b64decode(f["sample"])
            lfs = f["path"].lower().endswith(LFS_SUFFIXES) or f["size"] >= LFS_SIZE_THRESHOLD or b"\0" in sample
            answer = {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
            entry = commit.files.get(f["path"])
            if entry is not None:
                answer["oid"] = entry.sha256 if entry.content is None else git_blob_sha1(entry.content)
            answers.append(answer)
        self._json(200, {"files": answers, "commitOid": commit.oid})

    def lfs_batch(self, body: bytes, repo: str, kind: str = "datasets", **_) -> None:
        self._repo(repo, write=True, kind=kind)
        store = _KINDS[kind][1] + repo  # LFS storage is per repo
        payload = json.loads(body)
        if payload.get("operation") != "upload":
            raise HttpError(400, "this test server only accepts uploads")
        objects = []
        for obj in payload["objects"]:
            oid, size = obj["oid"], obj["size"]
            answer = {"oid": oid, "size": size, "authenticated": True}
            if (store, oid) not in self.state.lfs:  # a stored blob gets no actions: the client skips it
                answer["actions"] = {
                    "upload": {"href": f"{self.base}/lfs-upload/{quote(store)}/{oid}", "header": {}},
                    "verify": {"href": f"{self.base}/lfs-verify/{quote(store)}", "header": {}},
                }
            objects.append(answer)
        self._json(200, {"transfer": "basic", "objects": objects}, {"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_upload(self, body: bytes, repo: str, oid: str, **_) -> None:
        with self.state.lock:
            limit = self.state.fail_lfs_uploads_after
            if limit is not None and len(self.state.lfs_uploads) >= limit:
                raise HttpError(507, "Insufficient storage: upload interrupted by the test")
            if hashlib.sha256(body).hexdigest() != oid:
                raise HttpError(400, f"sha256 of the uploaded content does not match {oid}")
            self.state.lfs[(repo, oid)] = body
            self.state.lfs_uploads.append(oid)
        self._send(200, b"", {"ETag": f'"{oid}"'})

    def lfs_verify(self, body: bytes, repo: str, **_) -> None:
        payload = json.loads(body)
        blob = self.state.lfs.get((repo, payload["oid"]))
        if blob is None or len(blob) != payload["size"]:
            raise HttpError(404, f"LFS object {payload['oid']} not found")
        self._json(200, {"success": True})

    def validate_yaml(self, body: bytes, **_) -> None:
        payload = json.loads(body)
        try:
            _front_matter(payload["content"])
        except Exception as exc:  # any YAML fault is reported as the Hub does: 400 with a message
            raise HttpError(400, f"Invalid YAML metadata: {exc}")
        self._json(200, {"errors": [], "warnings": []})

    def commit(self, body: bytes, repo: str, rev: str, kind: str = "datasets", **_) -> None:
        r = self._repo(repo, write=True, kind=kind)
        store = _KINDS[kind][1] + repo
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HttpError(400, "The commit payload must start with a header line")
        header = lines[0]["value"]
        with self.state.lock:
            parent = self._commit(r, rev)
            if rev not in r.branches:
                raise HttpError(400, f"Cannot commit to {rev}: not a branch")
            if header.get("parentCommit") and header["parentCommit"] != parent.oid:
                raise HttpError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(parent.files)
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = Entry(content=base64.b64decode(value["content"]))
                elif key == "lfsFile":
                    blob = self.state.lfs.get((store, value["oid"]))
                    if blob is None:
                        raise HttpError(422, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                    files[value["path"]] = Entry(sha256=value["oid"], size=len(blob))
                elif key == "deletedFile":
                    if files.pop(value["path"], None) is None:
                        raise HttpError(404, f"A file with this name doesn't exist: {value['path']}", "EntryNotFound")
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {p: e for p, e in files.items() if not p.startswith(prefix)}
                else:
                    raise HttpError(400, f"Unknown commit operation {key!r}")
            commit = self.state.new_commit(r, rev, header["summary"], files)
        url = f"{self.base}/{'datasets/' if kind == 'datasets' else ''}{repo}/commit/{commit.oid}"
        self._json(200, {"success": True, "commitOid": commit.oid, "commitUrl": url, "hookOutput": "",
                         "pullRequestUrl": None})

    # -- read -------------------------------------------------------------------------------------------
    def tree(self, repo: str, rev: str, query: dict, path: str = "", kind: str = "datasets", **_) -> None:
        commit = self._commit(self._repo(repo, kind=kind), rev)
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        path = path.strip("/")
        if path and path not in _folders(commit.files):
            if path in commit.files:
                raise HttpError(400, f"{path} is a file, not a folder")
            raise HttpError(404, f"{path} does not exist on \"{rev}\"", "EntryNotFound")
        prefix = path + "/" if path else ""
        listing = []
        for folder in sorted(_folders(commit.files)):
            if folder.startswith(prefix) and folder != path and (recursive or "/" not in folder[len(prefix):]):
                listing.append({"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(), "size": 0,
                                "path": folder})
        for p in sorted(commit.files):
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix):]):
                listing.append(commit.files[p].tree_json(p))
        self._json(200, listing)

    def paths_info(self, body: bytes, repo: str, rev: str, kind: str = "datasets", **_) -> None:
        commit = self._commit(self._repo(repo, kind=kind), rev)
        form = parse_qs(body.decode())
        out = []
        for p in form.get("paths", []):
            p = p.strip("/")
            if p in commit.files:
                out.append(commit.files[p].tree_json(p))
            elif p in _folders(commit.files):
                out.append({"type": "directory", "oid": hashlib.sha1(p.encode()).hexdigest(), "size": 0, "path": p})
        self._json(200, out)

    def resolve(self, repo: str, rev: str, path: str, head: bool = False, kind: str = "datasets", **_) -> None:
        commit = self._commit(self._repo(repo, kind=kind), rev)
        entry = commit.files.get(path)
        if entry is None:
            raise HttpError(404, f"Entry not found: {path}", "EntryNotFound")
        data = entry.content if entry.content is not None else self.state.lfs[(_KINDS[kind][1] + repo, entry.sha256)]
        headers = {"Content-Type": "application/octet-stream", "X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
        if entry.content is None:
            headers.update({"ETag": f'"{entry.sha256}"', "X-Linked-Etag": f'"{entry.sha256}"',
                            "X-Linked-Size": str(len(data))})
        else:
            headers["ETag"] = f'"{git_blob_sha1(data)}"'
        status, total = 200, len(data)
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match and not head:
            start_s, end_s = match.groups()
            if start_s:
                start, end = int(start_s), min(int(end_s) if end_s else total - 1, total - 1)
            else:
                start, end = max(total - int(end_s), 0), total - 1
            if start >= total:
                self._send(416, b"", {"Content-Range": f"bytes */{total}"})
                return
            data = data[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
            status = 206
        if head:
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            return
        self._send(status, data, headers)


def _folders(files: dict[str, Entry]) -> set[str]:
    out = set()
    for p in files:
        parts = p.split("/")[:-1]
        out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def _front_matter(text: str):
    import yaml

    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    return yaml.safe_load(match.group(1)) if match else None


_ROUTES = [
    ("POST", r"/api/repos/create", _Handler.create_repo),
    ("POST", r"/api/validate-yaml", _Handler.validate_yaml),
    ("GET", rf"/api/{_KIND}/{_REPO}", _Handler.repo_info),
    ("GET", rf"/api/{_KIND}/{_REPO}/revision/(?P<rev>.+)", _Handler.repo_info),
    ("POST", rf"/api/{_KIND}/{_REPO}/branch/(?P<branch>.+)", _Handler.create_branch),
    ("POST", rf"/api/{_KIND}/{_REPO}/preupload/(?P<rev>.+)", _Handler.preupload),
    ("POST", rf"/api/{_KIND}/{_REPO}/commit/(?P<rev>.+)", _Handler.commit),
    ("POST", rf"/api/{_KIND}/{_REPO}/paths-info/(?P<rev>.+)", _Handler.paths_info),
    # A revision is one path segment on the wire (a branch with "/" arrives %2F-quoted).
    ("GET", rf"/api/{_KIND}/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", _Handler.tree),
    ("POST", rf"/datasets/{_REPO}\.git/info/lfs/objects/batch", _Handler.lfs_batch),
    ("PUT", r"/lfs-upload/(?P<repo>.+)/(?P<oid>[0-9a-f]{64})", _Handler.lfs_upload),
    ("POST", r"/lfs-verify/(?P<repo>.+)", _Handler.lfs_verify),
    ("GET", rf"/datasets/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", _Handler.resolve),
    # Model repos: no prefix in the LFS and file URLs (after the dataset routes, which would also match).
    ("POST", rf"/(?P<kind>){_REPO}\.git/info/lfs/objects/batch", _Handler.lfs_batch),
    ("GET", rf"/(?P<kind>){_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", _Handler.resolve),
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: HubState


class HubServer:
    """A running test Hub on ``127.0.0.1`` (a free port). Use as a context manager or call :meth:`close`."""

    def __init__(self, tokens: dict[str, str], orgs: dict[str, list[str]] | None = None,
                 read_only: set[str] | frozenset[str] = frozenset()) -> None:
        self.state = HubState(tokens, orgs, set(read_only))
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def commits(self, repo_id: str, branch: str = "main", repo_type: str = "dataset") -> list[Commit]:
        """The commits of a branch, newest first."""
        repo = (self.state.models if repo_type == "model" else self.state.repos)[repo_id]
        out, oid = [], repo.branches.get(branch)
        while oid is not None:
            out.append(repo.commits[oid])
            oid = repo.commits[oid].parent
        return out

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "HubServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
