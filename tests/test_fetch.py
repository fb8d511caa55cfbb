"""`vp fetch` without the network: Bio.Entrez's urlopen is replaced by a fake NCBI that answers
with recorded responses in NCBI's formats and keeps a log of the requests it saw."""

from __future__ import annotations

import email.message
import io
import types
from http.client import IncompleteRead
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit
from urllib.response import addinfourl

import pytest
from Bio import Entrez, SeqIO
from Bio.Seq import Seq
from Bio.SeqFeature import CompoundLocation, FeatureLocation, SeqFeature
from Bio.SeqRecord import SeqRecord

from virtualpatients.errors import InputError, VPError
from virtualpatients.data.genbank import genbank_records
from virtualpatients.data.ncbi import (
    EntrezClient,
    NetworkError,
    RateLimiter,
    default_cache_dir,
    fetch,
)

EMAIL = "tester@example.org"


def genbank_text(accession: str = "NM_000546.6", with_cds: bool = True) -> str:
    record = SeqRecord(
        Seq("ATGAAACCCGGGTTTAAATAGCCATG"),
        id=accession,
        name=accession.split(".")[0],
        description=f"Homo sapiens test gene {accession}, mRNA",
        annotations={"molecule_type": "DNA"},
    )
    if with_cds:
        location = CompoundLocation([FeatureLocation(0, 9, strand=1), FeatureLocation(12, 21, strand=1)])
        qualifiers = {"protein_id": ["NP_000537.3"], "gene": ["TP53"]}
        record.features.append(SeqFeature(location, type="CDS", qualifiers=qualifiers))
    stream = io.StringIO()
    SeqIO.write(record, stream, "genbank")
    return stream.getvalue()


def fasta_text(*accessions: str) -> str:
    return "".join(f">{name} Homo sapiens record {name}\nACGTACGTAC\nGGTT\n" for name in accessions)


def esearch_xml(ids: list[str], count: int | None = None, extra: str = "") -> str:
    id_list = "".join(f"<Id>{name}</Id>" for name in ids)
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
        '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
        f"<eSearchResult><Count>{len(ids) if count is None else count}</Count>"
        f"<RetMax>{len(ids)}</RetMax><RetStart>0</RetStart><QueryKey>1</QueryKey>"
        f"<WebEnv>MCID_test</WebEnv><IdList>{id_list}</IdList>{extra}</eSearchResult>\n"
    )


def response(body: str, content_type: str = "text/plain") -> addinfourl:
    headers = email.message.Message()
    headers["Content-Type"] = f"{content_type}; charset=UTF-8"
    return addinfourl(io.BytesIO(body.encode()), headers, "https://eutils.ncbi.nlm.nih.gov/", 200)


def http_error(code: int, body: str = "") -> HTTPError:
    return HTTPError("https://eutils.ncbi.nlm.nih.gov/", code, f"status {code}", email.message.Message(),
                     io.BytesIO(body.encode()))


class FakeNCBI:
    """Answers each request with the next queued reply (a response, or an exception to raise)."""

    def __init__(self) -> None:
        self.replies: list[object] = []
        self.requests: list[tuple[str, dict[str, str]]] = []

    def urlopen(self, request):
        url = urlsplit(request.full_url)
        query = request.data.decode() if request.data else url.query
        params = {key: values[0] for key, values in parse_qs(query).items()}
        self.requests.append((url.path.rsplit("/", 1)[-1].split(".")[0], params))
        if not self.replies:
            raise AssertionError(f"unexpected request {request.full_url}")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply


@pytest.fixture
def ncbi(monkeypatch: pytest.MonkeyPatch) -> FakeNCBI:
    fake = FakeNCBI()
    monkeypatch.setattr(Entrez, "urlopen", fake.urlopen)
    # Bio.Entrez spaces its own requests 0.37 s apart with real sleeps; tests must not wait.
    monkeypatch.setattr(Entrez, "time", types.SimpleNamespace(time=lambda: 0.0, sleep=lambda seconds: None))
    for name in ("NCBI_EMAIL", "NCBI_API_KEY", "VP_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return fake


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(clock: FakeClock, api_key: str | None = None) -> EntrezClient:
    limiter = RateLimiter(10 if api_key else 3, clock=clock, sleep=clock.sleep)
    return EntrezClient(EMAIL, api_key, sleep=clock.sleep, limiter=limiter)


def test_search_uses_the_history_server_in_batches(ncbi, tmp_path):
    ids = ["AB000001.1", "AB000002.1", "AB000003.2", "AB000004.1", "AB000005.1"]
    ncbi.replies = [response(esearch_xml(ids, count=50), "text/xml"), response(fasta_text(*ids[:2])),
                    response(fasta_text(*ids[2:4])), response(fasta_text(ids[4]))]
    query = "TP53[gene] AND human[orgn]"
    clock = FakeClock()  # four requests at 3/s: the default limiter would really sleep a second
    result = fetch(query=query, max_records=5, email=EMAIL, cache_dir=tmp_path, batch_size=2, client=client(clock))
    assert clock.now == pytest.approx(1.0)
    assert [path for path, _ in ncbi.requests] == ["esearch", "efetch", "efetch", "efetch"]
    search = ncbi.requests[0][1]
    assert search["usehistory"] == "y" and search["retmax"] == "5" and search["db"] == "nucleotide"
    assert search["email"] == EMAIL and search["term"] == query and search["idtype"] == "acc"
    windows = [(p["webenv"], p["query_key"], p["retstart"], p["retmax"]) for _, p in ncbi.requests[1:]]
    expected = [("MCID_test", "1", start, size) for start, size in (("0", "2"), ("2", "2"), ("4", "1"))]
    assert windows == expected
    assert all(p["rettype"] == "fasta" and p["retmode"] == "text" for _, p in ncbi.requests[1:])
    assert result.n_records == 5 and result.n_cached == 0 and result.accessions == ids
    assert result.data.decode() == fasta_text(*ids)
    assert (tmp_path / "AB000003.2.fasta").read_text() == fasta_text("AB000003.2")


def test_fetch_by_accession_caches_under_requested_and_versioned_names(ncbi, tmp_path):
    ncbi.replies = [response(fasta_text("NM_000546.6", "NM_000001.2"))]
    result = fetch(["nm_000546", "NM_000001.2"], rettype="fasta", email=EMAIL, cache_dir=tmp_path)
    assert ncbi.requests[0][1]["id"] == "NM_000546,NM_000001.2"
    assert result.accessions == ["NM_000546.6", "NM_000001.2"] and result.n_records == 2
    assert sorted(path.name for path in tmp_path.glob("*.fasta")) == [
        "NM_000001.2.fasta", "NM_000546.6.fasta", "NM_000546.fasta"]
    # A second run, and a request for the version the first one pinned, make no request at all.
    ncbi.requests.clear()
    again = fetch(["NM_000546", "NM_000001.2", "NM_000546.6"], email=EMAIL, cache_dir=tmp_path)
    assert ncbi.requests == [] and again.n_cached == 3 and again.data.startswith(b">NM_000546.6 ")


def test_only_uncached_accessions_are_requested(ncbi, tmp_path):
    (tmp_path / "AB000001.1.gb").write_text(genbank_text("AB000001.1"))
    ncbi.replies = [response(genbank_text("AB000002.1"))]
    result = fetch(["AB000001.1", "AB000002.1"], rettype="gb", email=EMAIL, cache_dir=tmp_path)
    assert ncbi.requests[0][1]["id"] == "AB000002.1" and ncbi.requests[0][1]["rettype"] == "gb"
    assert result.n_cached == 1 and result.data.decode().count("\n//\n") == 2


def test_search_batches_already_cached_are_not_requested(ncbi, tmp_path):
    ids = ["AB000001.1", "AB000002.1"]
    for name in ids:
        (tmp_path / f"{name}.fasta").write_text(fasta_text(name))
    ncbi.replies = [response(esearch_xml(ids), "text/xml")]
    result = fetch(query="anything", email=EMAIL, cache_dir=tmp_path)
    assert [path for path, _ in ncbi.requests] == ["esearch"] and result.n_cached == 2


def test_rate_limit_without_and_with_api_key():
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    for _ in range(7):
        limiter.wait()
    assert clock.now >= 2.0
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limiter.wait()
    assert clock.now == 0.0
    limiter.wait()
    assert clock.now == pytest.approx(1.0)
    assert EntrezClient(EMAIL).limiter.rate == 3 and EntrezClient(EMAIL, "key").limiter.rate == 10


def test_requests_go_through_the_rate_limiter(ncbi, tmp_path):
    clock = FakeClock()
    ncbi.replies = [response(fasta_text(f"AB00000{n}.1")) for n in range(4)]
    names = [f"AB00000{n}.1" for n in range(4)]
    fetch(names, email=EMAIL, cache_dir=tmp_path, batch_size=1, client=client(clock))
    assert len(ncbi.requests) == 4 and clock.now >= 1.0


def test_transient_errors_are_retried_with_backoff(ncbi, tmp_path):
    clock = FakeClock()
    broken = response("")
    broken.read = lambda *args: (_ for _ in ()).throw(IncompleteRead(b"", 10))
    ncbi.replies = [http_error(503), broken, http_error(429), response(fasta_text("NM_000546.6"))]
    result = fetch(["NM_000546"], email=EMAIL, cache_dir=tmp_path, client=client(clock))
    assert len(ncbi.requests) == 4 and clock.sleeps[:3] == [1.0, 2.0, 4.0]
    assert result.accessions == ["NM_000546.6"]


def test_bad_request_is_not_retried(ncbi, tmp_path):
    clock = FakeClock()
    ncbi.replies = [http_error(400, "Error: F a i l e d  t o  u n d e r s t a n d  i d\nmore")]
    with pytest.raises(InputError, match=r"HTTP 400.*F a i l e d") as caught:
        fetch(["XX_BAD"], email=EMAIL, cache_dir=tmp_path, client=client(clock))
    assert len(ncbi.requests) == 1 and clock.sleeps == [] and "\n" not in str(caught.value)


def test_api_key_is_sent_and_never_echoed(ncbi, tmp_path):
    ncbi.replies = [http_error(400, '{"error":"API key invalid","api-key":"secret123"}')]
    with pytest.raises(InputError, match="API key invalid") as caught:
        fetch(["NM_000546"], email=EMAIL, api_key="secret123", cache_dir=tmp_path)
    assert ncbi.requests[0][1]["api_key"] == "secret123" and "secret123" not in str(caught.value)


def test_offline_is_one_clean_network_error(ncbi, tmp_path):
    clock = FakeClock()
    ncbi.replies = [URLError(OSError(-2, "Name or service not known")) for _ in range(4)]
    with pytest.raises(NetworkError, match="cannot reach NCBI") as caught:
        fetch(query="TP53", email=EMAIL, cache_dir=tmp_path, client=client(clock))
    assert caught.value.exit_code == 1 and "\n" not in str(caught.value)
    assert len(ncbi.requests) == 4 and clock.sleeps == [1.0, 2.0, 4.0]


def test_server_errors_end_as_network_error_after_retries(ncbi, tmp_path):
    clock = FakeClock()
    ncbi.replies = [http_error(502) for _ in range(4)]
    with pytest.raises(NetworkError, match="failed after 4 attempts: HTTP 502"):
        fetch(["NM_000546"], email=EMAIL, cache_dir=tmp_path, client=client(clock))


@pytest.mark.parametrize(
    "body, error, expected",
    [
        (esearch_xml([], extra="<ErrorList><PhraseNotFound>nosuchgene</PhraseNotFound></ErrorList>"),
         InputError, "no NCBI nucleotide records match 'nosuchgene' (phrase not found: nosuchgene)"),
        ("<eSearchResult><ERROR>Invalid query</ERROR></eSearchResult>", InputError, "rejected the query"),
        ("<html>Service down", NetworkError, "malformed response"),
        ("<eSearchResult><Count>3</Count></eSearchResult>", NetworkError, "no ids or history keys"),
    ],
)
def test_bad_search_results(ncbi, tmp_path, body, error, expected):
    ncbi.replies = [response(body, "text/xml")]
    with pytest.raises(error) as caught:
        fetch(query="nosuchgene", email=EMAIL, cache_dir=tmp_path)
    assert expected in str(caught.value) and type(caught.value) is error


@pytest.mark.parametrize(
    "body, error, expected",
    [
        ("", NetworkError, "empty FASTA response"),
        ("<html><body>Bad gateway</body></html>", NetworkError, "malformed (or truncated) FASTA"),
        (fasta_text("NM_999999.1"), InputError, "no record for NM_000546, NM_000001"),
        ("Error: Cannot process ID list", InputError, "NCBI efetch error: Error: Cannot process ID list"),
    ],
)
def test_bad_fetch_results(ncbi, tmp_path, body, error, expected):
    ncbi.replies = [response(body)]
    with pytest.raises(error) as caught:
        fetch(["NM_000546", "NM_000001"], email=EMAIL, cache_dir=tmp_path)
    assert expected in str(caught.value) and type(caught.value) is error


def test_truncated_genbank_response_is_malformed(ncbi, tmp_path):
    ncbi.replies = [response(genbank_text()[:-4])]
    with pytest.raises(NetworkError, match="malformed"):
        fetch(["NM_000546"], rettype="gb", email=EMAIL, cache_dir=tmp_path)


def test_cds_extraction_from_genbank_text():
    text = genbank_text()
    record = SeqIO.read(io.StringIO(text), "genbank")
    feature = next(feature for feature in record.features if feature.type == "CDS")
    [(title, sequence)] = genbank_records(text, cds=True)
    assert sequence == str(feature.extract(record.seq)) == "ATGAAACCCTTTAAATAG"
    assert title == "NM_000546.6_cds protein_id=NP_000537.3 gene=TP53 source=NM_000546.6"
    [(title, sequence)] = genbank_records(text, cds=False)
    assert title == "NM_000546.6 Homo sapiens test gene NM_000546.6, mRNA" and sequence == str(record.seq)


def test_fetch_with_cds_downloads_genbank_and_returns_cds_fasta(ncbi, tmp_path):
    ncbi.replies = [response(genbank_text("NM_000546.6") + genbank_text("NM_000001.2"))]
    result = fetch(["NM_000546", "NM_000001"], rettype="fasta", cds=True, email=EMAIL, cache_dir=tmp_path)
    assert ncbi.requests[0][1]["rettype"] == "gb" and (tmp_path / "NM_000546.gb").exists()
    assert result.n_records == 2 and result.n_sequences == 2
    assert result.data.decode().splitlines()[:2] == [
        ">NM_000546.6_cds protein_id=NP_000537.3 gene=TP53 source=NM_000546.6", "ATGAAACCCTTTAAATAG"]


def test_fetch_with_cds_of_records_without_cds_is_an_input_error(ncbi, tmp_path):
    ncbi.replies = [response(genbank_text(with_cds=False))]
    with pytest.raises(InputError, match="no CDS features"):
        fetch(["NM_000546"], cds=True, email=EMAIL, cache_dir=tmp_path)


@pytest.mark.filterwarnings("ignore::Bio.BiopythonParserWarning")
def test_genbank_records_from_files(tmp_path):
    path = tmp_path / "two.gbk"
    path.write_text(genbank_text("NM_000546.6") + genbank_text("NM_000001.2", with_cds=False))
    assert [title.split()[0] for title, _ in genbank_records(path, cds=True)] == ["NM_000546.6_cds"]
    whole = genbank_records(path, cds=False)
    assert [title.split()[0] for title, _ in whole] == ["NM_000546.6", "NM_000001.2"]
    assert len(whole[1][1]) == 26
    no_cds = tmp_path / "no_cds.gb"
    no_cds.write_text(genbank_text(with_cds=False))
    with pytest.raises(InputError, match=r"no_cds.gb: no CDS features"):
        genbank_records(no_cds, cds=True)
    fasta = tmp_path / "x.gb"
    fasta.write_text(">a\nACGT\n")
    with pytest.raises(InputError, match="x.gb: no GenBank records"):
        genbank_records(fasta, cds=False)
    with pytest.raises(InputError, match="missing.gb: no such file"):
        genbank_records(tmp_path / "missing.gb", cds=False)
    broken = tmp_path / "broken.gb"
    broken.write_text(genbank_text().replace("join(1..9,13..21)", "join(1..9,13.."))
    with pytest.raises(InputError, match="broken.gb: not a readable GenBank file .*CDS"):
        genbank_records(broken, cds=False)


def test_email_is_required(ncbi, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="contact email address: give one, or set NCBI_EMAIL"):
        fetch(["NM_000546"], cache_dir=tmp_path)
    monkeypatch.setenv("NCBI_EMAIL", EMAIL)
    ncbi.replies = [response(fasta_text("NM_000546.6"))]
    fetch(["NM_000546"], cache_dir=tmp_path)
    assert ncbi.requests[0][1]["email"] == EMAIL and ncbi.requests[0][1]["tool"] == "virtualpatients"


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ({"accessions": ["A1"], "query": "x"}, "not both or neither"),
        ({}, "not both or neither"),
        ({"accessions": ["../etc/passwd"]}, "not a valid accession: '../ETC/PASSWD'"),
        ({"accessions": [" , "]}, "no accessions given"),
        ({"query": "x", "rettype": "xml"}, "unknown format 'xml'"),
        ({"query": "x", "max_records": 0}, "between 1 and 10000"),
    ],
)
def test_bad_arguments(ncbi, tmp_path, arguments, expected):
    with pytest.raises(InputError, match=expected.replace(".", r"\.").replace("(", r"\(")):
        fetch(email=EMAIL, cache_dir=tmp_path, **arguments)
    assert ncbi.requests == []


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("VP_CACHE_DIR", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("VP_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "virtualpatients" / "ncbi"


def test_unwritable_cache_is_a_clean_error(ncbi, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    ncbi.replies = [response(fasta_text("NM_000546.6"))]
    with pytest.raises(VPError, match=r"cannot write .*/file/cache/NM_000546.*\.fasta: a part of its folder path is a file"):
        fetch(["NM_000546"], email=EMAIL, cache_dir=blocker / "cache")


def test_gi_numbers_map_by_response_order(ncbi, tmp_path):
    ncbi.replies = [response(fasta_text("NM_000546.6", "NM_000001.2"))]
    result = fetch(["120407068", "4507635"], email=EMAIL, cache_dir=tmp_path)
    assert result.accessions == ["NM_000546.6", "NM_000001.2"]
    assert (tmp_path / "120407068.fasta").read_text() == fasta_text("NM_000546.6")


def test_entrez_retry_setting_is_restored(ncbi, tmp_path):
    before = Entrez.max_tries
    ncbi.replies = [http_error(404)]
    with pytest.raises(InputError, match="HTTP 404"):
        fetch(["NM_000546"], email=EMAIL, cache_dir=tmp_path)
    assert Entrez.max_tries == before


@pytest.mark.parametrize(
    "arguments, expected",
    [({"query": "  "}, "empty search query"), ({"query": "x", "email": "nobody"}, "not an email address")],
)
def test_bad_query_or_email(ncbi, tmp_path, arguments, expected):
    with pytest.raises(InputError, match=expected):
        fetch(cache_dir=tmp_path, **{"email": EMAIL, **arguments})
    assert ncbi.requests == []


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds its own EntrezClient: give it a fake clock, so backoff and rate limit cost no time."""
    import functools

    from virtualpatients.data import ncbi as fetch_module

    clock = FakeClock()
    monkeypatch.setattr(fetch_module, "EntrezClient", functools.partial(
        fetch_module.EntrezClient, sleep=clock.sleep, limiter=RateLimiter(3, clock=clock, sleep=clock.sleep)))


def invoke(*arguments: str):
    from typer.testing import CliRunner

    from virtualpatients.cli.app import app

    return CliRunner().invoke(app, list(arguments))


def test_vp_fetch_writes_fasta_then_serves_it_from_the_cache(ncbi, no_waiting, tmp_path):
    ncbi.replies = [response(fasta_text("NM_000546.6"))]
    first = invoke("fetch", "NM_000546.6", "--email", EMAIL, "--cache-dir", str(tmp_path / "cache"), "-o", "tp53.fasta")
    assert first.exit_code == 0, first.output
    assert Path("tp53.fasta").read_text() == fasta_text("NM_000546.6")
    assert "1 NCBI records (0 from the cache)" in first.stderr
    again = invoke("fetch", "NM_000546.6", "--email", EMAIL, "--cache-dir", str(tmp_path / "cache"))
    assert again.exit_code == 0 and again.stdout == fasta_text("NM_000546.6")  # no reply queued: no request
    assert "(1 from the cache)" in again.stderr
    refused = invoke("fetch", "NM_000546.6", "--email", EMAIL, "--cache-dir", str(tmp_path / "cache"), "-o", "tp53.fasta")
    assert refused.exit_code == 2 and "--force" in refused.stderr


def test_vp_fetch_search_with_cds_then_vp_train_reads_it(ncbi, no_waiting, tmp_path, monkeypatch):
    monkeypatch.setenv("NCBI_EMAIL", EMAIL)
    ids = ["NM_000546.6", "NM_000547.1"]
    ncbi.replies = [response(esearch_xml(ids), "text/xml"),
                    response(genbank_text(ids[0]) + genbank_text(ids[1]))]
    result = invoke("fetch", "--query", "TP53[gene] AND Homo sapiens[orgn]", "--max", "2", "--cds",
                    "--cache-dir", str(tmp_path / "cache"), "-o", "cds.fasta")
    assert result.exit_code == 0, result.output
    assert ncbi.requests[1][1]["rettype"] == "gb"
    text = Path("cds.fasta").read_text()
    assert text.count(">") == 2 and "protein_id=NP_000537.3" in text
    trained = invoke("train", "cds.fasta", "--steps", "2", "--hidden", "4", "--noise-dim", "2", "--device", "cpu",
                     "-o", "run")
    assert trained.exit_code == 0, trained.output


def test_vp_fetch_offline_is_one_line_and_exit_1(ncbi, no_waiting, tmp_path):
    ncbi.replies = [URLError("[Errno -2] Name or service not known")] * 4
    result = invoke("fetch", "NM_000546.6", "--email", EMAIL, "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: NCBI efetch failed") and len(result.stderr.strip().splitlines()) == 1
