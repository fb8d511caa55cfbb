"""`vp fetch`: nucleotide records from NCBI Entrez, cached per accession, and GenBank to FASTA.

Only the download goes through Bio.Entrez; throttling and retries are ours, because Entrez's own
retry sleeps a fixed 15 s (and retries 5xx with no pause) and cannot be given a test clock.
"""

from __future__ import annotations

import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from urllib.error import HTTPError, URLError

from Bio import Entrez

from ..atomic import atomic_write_bytes
from .genbank import _genbank_pairs
from .sequences import format_fasta
from ..errors import InputError, NetworkError, VPError

FORMATS = {"fasta": "fasta", "gb": "gb"}  # rettype -> cache file extension
TRANSIENT_HTTP = frozenset({429, 500, 502, 503, 504})
MAX_RECORDS = 10_000  # esearch returns at most this many ids per call
_ACCESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]{0,63}$")
# Bio.Entrez keeps its retry count in a module global; hold this lock while we override it.
_ENTREZ_LOCK = threading.Lock()


@dataclass(frozen=True)
class FetchResult:
    data: bytes  # FASTA text, or GenBank text for rettype "gb" without cds
    n_records: int  # nucleotide records fetched (from NCBI or the cache)
    n_cached: int  # of those, how many came from the cache without a request
    n_sequences: int  # entries in `data`: records, or CDSs with cds=True
    accessions: list[str]  # accession.version of each record, in request/search order


def credentials_from_environment() -> tuple[str | None, str | None]:
    """(NCBI_EMAIL, NCBI_API_KEY); NCBI wants an address to contact before blocking a client."""
    return os.environ.get("NCBI_EMAIL") or None, os.environ.get("NCBI_API_KEY") or None


def default_cache_dir() -> Path:
    return Path(os.environ.get("VP_CACHE_DIR") or Path.home() / ".cache" / "virtualpatients" / "ncbi").expanduser()


class RateLimiter:
    """At most `rate` requests in any one-second window (NCBI: 3/s, 10/s with an API key)."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self._recent: deque[float] = deque(maxlen=rate)
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            if len(self._recent) == self.rate and now - self._recent[0] < 1.0:
                self.sleep(self._recent[0] + 1.0 - now)
                now = self.clock()
            self._recent.append(now)


class EntrezClient:
    """Entrez requests with credentials sent per request (no shared globals), throttled and retried."""

    def __init__(self, email: str, api_key: str | None = None, *, attempts: int = 4,
                 backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 limiter: RateLimiter | None = None) -> None:
        self.email, self.api_key, self.sleep = email, api_key, sleep
        self.attempts, self.backoff = attempts, backoff
        self.limiter = limiter or RateLimiter(10 if api_key else 3)

    def esearch(self, term: str, retmax: int) -> tuple[list[str], str, str]:
        """Ids (accession.version), WebEnv and query_key of a search kept on NCBI's history server."""
        data = self._request(Entrez.esearch, "esearch", term=term, retmax=retmax, usehistory="y",
                             idtype="acc")
        try:
            root = ET.fromstring(data)
            if root.findtext("ERROR"):
                raise InputError(_one_line(f"NCBI rejected the query '{term}': {root.findtext('ERROR')}"))
            count = int(root.findtext("Count") or "")
        except (ET.ParseError, ValueError) as error:
            raise NetworkError(_one_line(f"NCBI esearch returned a malformed response ({error})")) from None
        if count == 0:
            missing = [element.text or "" for element in root.iter("PhraseNotFound")]
            hint = f" (phrase not found: {', '.join(missing)})" if missing else ""
            raise InputError(_one_line(f"no NCBI nucleotide records match '{term}'{hint}"))
        ids = [element.text or "" for element in root.findall("IdList/Id")]
        webenv, query_key = root.findtext("WebEnv"), root.findtext("QueryKey")
        if not ids or not webenv or not query_key:
            raise NetworkError("NCBI esearch returned a malformed response (no ids or history keys)")
        return ids, webenv, query_key

    def efetch(self, rettype: str, **params: object) -> str:
        text = self._request(Entrez.efetch, "efetch", rettype=rettype, retmode="text", **params).decode(
            "utf-8", "replace")
        if text.lstrip().lower().startswith("error") or "<ERROR>" in text:
            raise InputError(_one_line(f"NCBI efetch error: {text.strip()[:200]}"))
        return text

    def _request(self, call: Callable[..., object], what: str, **params: object) -> bytes:
        failure = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            self.limiter.wait()
            try:
                return self._open(call, **params)
            except HTTPError as error:
                if error.code not in TRANSIENT_HTTP:
                    raise self._refused(error, what) from None
                failure = f"HTTP {error.code} {error.reason}"
            except URLError as error:
                failure = f"cannot reach NCBI ({error.reason})"
            except (OSError, HTTPException) as error:  # timeouts, resets, IncompleteRead
                failure = f"{type(error).__name__}: {error}"
        raise NetworkError(_one_line(
            f"NCBI {what} failed after {self.attempts} attempts: {failure}; "
            "check the network connection or try again later"))

    def _open(self, call: Callable[..., object], **params: object) -> bytes:
        with _ENTREZ_LOCK:
            saved, Entrez.max_tries = Entrez.max_tries, 1  # one try each: our loop owns the retries
            try:
                handle = call(db="nucleotide", tool="virtualpatients", email=self.email,
                              api_key=self.api_key, **params)
                try:
                    data = handle.read()  # type: ignore[attr-defined]
                finally:
                    handle.close()  # type: ignore[attr-defined]
            finally:
                Entrez.max_tries = saved
        return data.encode("utf-8") if isinstance(data, str) else data

    def _refused(self, error: HTTPError, what: str) -> VPError:
        """A 4xx (or a 5xx NCBI does not mean as transient) will fail the same way again: say why."""
        try:
            body = error.read().decode("utf-8", "replace").strip()
        except (OSError, HTTPException, AttributeError):
            body = ""
        if self.api_key:
            body = body.replace(self.api_key, "***")  # NCBI echoes a bad key back
        detail = f": {body.splitlines()[0][:200]}" if body else ""
        error_class = InputError if error.code < 500 else NetworkError
        status = f"HTTP {error.code} {error.reason}"
        return error_class(_one_line(f"NCBI refused the {what} request ({status}){detail}"))


def fetch(accessions: list[str] | None = None, query: str | None = None, max_records: int = 100,
          rettype: str = "fasta", cds: bool = False, email: str | None = None,
          api_key: str | None = None, cache_dir: Path | None = None, batch_size: int = 100,
          client: EntrezClient | None = None) -> FetchResult:
    """Records by accession or by search. A versionless accession is cached under both the name
    asked for and the accession.version NCBI returned, so it stays pinned to the first version
    fetched until the cache file is deleted. max_records limits searches only."""
    if (accessions is None) == (query is None):
        raise InputError("give either accessions or a search query, not both or neither")
    if rettype not in FORMATS:
        raise InputError(f"unknown format {rettype!r}: choose fasta or gb")
    if not 1 <= max_records <= MAX_RECORDS:
        raise InputError(f"max records must be between 1 and {MAX_RECORDS}, got {max_records}")
    environment_email, environment_key = credentials_from_environment()
    email, api_key = email or environment_email, api_key or environment_key
    if not email:
        raise InputError("NCBI requires a contact email address: give one, or set NCBI_EMAIL")
    if "@" not in email:
        raise InputError(f"not an email address: '{email}'")
    fetch_type, size = ("gb" if cds else rettype), batch_size
    client = client or EntrezClient(email, api_key)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    texts: dict[str, str] = {}
    if accessions is not None:
        wanted = list(dict.fromkeys(p.upper() for a in accessions for p in re.split(r"[,\s]+", a) if p))
        bad = [name for name in wanted if not _ACCESSION.match(name)]
        if bad or not wanted:
            raise InputError(f"not a valid accession: '{bad[0]}'" if bad else "no accessions given")
        texts = {name: text for name in wanted if (text := _cache_get(folder, name, fetch_type))}
        todo = [name for name in wanted if name not in texts]
        batches = [(todo[i:i + size], {"id": ",".join(todo[i:i + size])}) for i in range(0, len(todo), size)]
        missing_error: type[VPError] = InputError
    elif not str(query).strip():
        raise InputError("empty search query")
    else:
        wanted, webenv, query_key = client.esearch(str(query), max_records)
        wanted = wanted[:max_records]
        history = {"webenv": webenv, "query_key": query_key}
        batches = [(wanted[i:i + size], {**history, "retstart": i, "retmax": len(wanted[i:i + size])})
                   for i in range(0, len(wanted), size)]
        missing_error = NetworkError  # the history server lost records it had just counted
    n_cached = len(texts)
    for names, params in batches:
        cached = {name: text for name in names if (text := _cache_get(folder, name, fetch_type))}
        if len(cached) == len(names):  # a search batch is skipped only when wholly cached
            texts.update(cached)
            n_cached += len(cached)
            continue
        chunks = _split(client.efetch(fetch_type, **params), fetch_type)
        texts.update(_store(folder, names, chunks, fetch_type, missing_error))
    records = [texts[name] for name in wanted]
    found = [_record_accession(text, fetch_type) or name for name, text in zip(wanted, records)]
    if not cds:
        return FetchResult("".join(records).encode(), len(records), n_cached, len(records), found)
    pairs = _genbank_pairs("".join(records), True, "the NCBI records")
    return FetchResult(format_fasta([title for title, _ in pairs], [sequence for _, sequence in pairs]), len(records), n_cached, len(pairs), found)


def _store(folder: Path, wanted: list[str], chunks: list[str], rettype: str,
           missing_error: type[VPError]) -> dict[str, str]:
    """Match records to the names asked for (exact, or versionless), falling back to response
    order, which NCBI keeps, for names such as GI numbers; then cache each under both names."""
    found = {name: chunk for chunk in chunks if (name := _record_accession(chunk, rettype))}
    assigned: dict[str, str] = {}
    for name in wanted:
        match = found.get(name) or next((c for a, c in found.items() if a.split(".")[0] == name), None)
        if match is not None:
            assigned[name] = match
    leftover = [chunk for chunk in chunks if chunk not in assigned.values()]
    unmatched = [name for name in wanted if name not in assigned]
    if unmatched and len(leftover) == len(unmatched):
        assigned.update(zip(unmatched, leftover))
    elif unmatched:
        raise missing_error(f"NCBI returned no record for {', '.join(unmatched)}")
    for name, text in assigned.items():
        # The alias lets a later request for the version (or the bare accession) hit the cache.
        for alias in {name, _record_accession(text, rettype) or name}:
            if not _ACCESSION.match(alias):
                continue  # an old-style 'gi|...|' header is no file name
            try:
                atomic_write_bytes(folder / f"{alias}.{FORMATS[rettype]}", text.encode())
            except OSError as error:
                raise VPError(f"cannot write the cache folder {folder}: {error.strerror or error}") from None
    return assigned


def _cache_get(folder: Path, name: str, rettype: str) -> str | None:
    try:
        text = (folder / f"{name}.{FORMATS[rettype]}").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.startswith(">" if rettype == "fasta" else "LOCUS") else None  # else refetch


def _split(text: str, rettype: str) -> list[str]:
    """One chunk per record: FASTA records start at '>', GenBank records end at a '//' line."""
    if rettype == "fasta":
        chunks = re.split(r"(?m)^(?=>)", text)
        head, records = chunks[0], chunks[1:]
    else:
        chunks = re.split(r"(?m)(?<=^//\n)", text if text.endswith("\n") else text + "\n")
        head, records = chunks[-1], chunks[:-1]
        if any(not chunk.lstrip().startswith("LOCUS") for chunk in records):
            raise NetworkError("NCBI efetch returned a malformed GenBank response")
    if head.strip() or not records:
        what = "an empty" if not text.strip() else "a malformed (or truncated)"
        kind = "FASTA" if rettype == "fasta" else "GenBank"
        raise NetworkError(f"NCBI efetch returned {what} {kind} response")
    return [chunk.lstrip("\n").rstrip("\n") + "\n" for chunk in records]


def _record_accession(chunk: str, rettype: str) -> str | None:
    if rettype == "fasta":
        return chunk[1:].split(None, 1)[0].upper() if chunk[1:].strip() else None
    found = re.search(r"(?m)^VERSION\s+(\S+)", chunk) or re.search(r"(?m)^ACCESSION\s+(\S+)", chunk)
    return found.group(1).upper() if found else None


def _one_line(message: str) -> str:
    return " ".join(message.split())
