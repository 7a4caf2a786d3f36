"""Static files: fingerprinted, precompressed, and served by WhiteNoise.

`flask assets build` (a deploy step, like `db upgrade`) copies static/ into
STATIC_BUILD_FOLDER: every file under its own name and under a name carrying a hash of its
content (css/app.3f2a9c1e0b7d.css), a manifest of the two (staticfiles.json), and a .br and a
.gz beside every file that compresses. Our own CSS and JavaScript are minified on the way
(rcssmin, rjsmin: comments and needless spaces out, half of their compressed size, which
every first visit downloads). The app then
serves that folder: fingerprinted names are cached for ten years as immutable, and
url_for('static', ...) gives them through the manifest. In debug mode, and while the build
is missing or older than static/, static/ is served as it is, with a short cache, so a
stale build never serves old files.
"""

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path
from wsgiref.headers import Headers

import click
import rcssmin
import rjsmin
from flask import Flask, current_app
from flask.cli import with_appcontext
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

MANIFEST = "staticfiles.json"

log = logging.getLogger(__name__)


def fingerprints(source: Path) -> dict[str, str]:
    """Each file's path under source -> the same path with a hash of its content."""
    names = {}
    for path in sorted(source.rglob("*")):
        if path.is_file():
            name = path.relative_to(source).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            stem, dot, extension = name.rpartition(".")
            names[name] = f"{stem}.{digest}.{extension}" if dot and "/" not in extension else name
    return names


def build(source: Path, target: Path) -> dict[str, str]:
    """Writes the fingerprinted, compressed copy of source into target, replacing it whole
    (a worker starting meanwhile sees the old build or the new one, never half of one)."""
    manifest = fingerprints(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".assets-", dir=target.parent))
    compressor = Compressor(quiet=True)
    for name, fingerprinted in manifest.items():
        for copy in {name, fingerprinted}:
            destination = staging / copy
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, destination)
            if not name.startswith("vendor/"):
                _minify(destination)
            if compressor.should_compress(copy):
                compressor.compress(str(destination))
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    staging.chmod(0o755)
    previous = target.with_name(staging.name + "-old")
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    return manifest


def _minify(path: Path) -> None:
    """A .css or .js file minified in place (the source keeps its comments and layout)."""
    minify = {".css": rcssmin.cssmin, ".js": rjsmin.jsmin}.get(path.suffix)
    if minify is not None:
        path.write_text(minify(path.read_text()))


def current_manifest(source: Path, target: Path) -> dict[str, str] | None:
    """The build's manifest, or None when there is no build or static/ has changed since."""
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest == fingerprints(source) else None


def build_folder(app: Flask) -> Path:
    return Path(app.config["STATIC_BUILD_FOLDER"] or Path(app.instance_path) / "static")


def init_app(app: Flask) -> None:
    source, target = Path(app.static_folder or "static"), build_folder(app)
    manifest = None if app.debug else current_manifest(source, target)
    if manifest is None and not (app.debug or app.testing):
        log.warning(
            "static files are not built or older than static/: serving them without "
            "fingerprints or compression; run `flask assets build`"
        )
    prefix = f"{app.static_url_path}/"
    fingerprinted = {prefix + name for name in (manifest or {}).values()} - {
        prefix + name for name in (manifest or {})
    }
    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]  # WSGI middleware
        app.wsgi_app,
        root=target if manifest else source,
        prefix=prefix,
        autorefresh=app.debug,
        max_age=0 if app.debug else 60,  # seconds, for names without a fingerprint
        allow_all_origins=False,
        immutable_file_test=lambda path, url: url in fingerprinted,
        add_headers_function=_add_headers,
    )
    if manifest:
        app.url_defaults(lambda endpoint, values: _fingerprinted_name(manifest, endpoint, values))
    app.cli.add_command(assets_command)


def _fingerprinted_name(manifest: dict[str, str], endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values:
        values["filename"] = manifest.get(values["filename"], values["filename"])


def _add_headers(headers: Headers, path: str, url: str) -> None:
    # Served before Flask sees the request, so the page headers are not added here.
    headers["X-Content-Type-Options"] = "nosniff"


@click.group("assets")
def assets_command() -> None:
    """Static files."""


@assets_command.command("build")
@with_appcontext
def build_command() -> None:
    """Fingerprint and compress static/ into STATIC_BUILD_FOLDER (a deploy step)."""
    target = build_folder(current_app)
    manifest = build(Path(current_app.static_folder or "static"), target)
    click.echo(f"{len(manifest)} static files built into {target}")
