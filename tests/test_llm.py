"""`[llm]` and `podsift llm check` against an OpenAI-compatible API on 127.0.0.1 (conftest's
`models`, a loopback server that speaks the protocol, and `llama`, llama.cpp's own server)."""

from __future__ import annotations

import json
import socket

from click.testing import CliRunner
from conftest import LLAMA_MODEL

from podsift.cli import main


def configure(home, **llm):
    home.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in llm.items())
    (home / "podsift.toml").write_text(f"[llm]\n{lines}")


def check():
    return CliRunner().invoke(main, ["llm", "check"])


def test_check_names_the_models_and_the_configured_one(home, models):
    configure(home, base_url=models.url, model="llama3.2")
    result = check()
    assert result.exit_code == 0, result.output
    assert "smollm2-135m-instruct, llama3.2" in result.output and "'llama3.2' is there" in result.output


def test_check_finds_the_model_that_llama_cpps_server_runs(home, llama):
    configure(home, base_url=llama, model=LLAMA_MODEL)
    result = check()
    assert result.exit_code == 0, result.output
    assert f"'{LLAMA_MODEL}' is there" in result.output


def test_a_model_the_endpoint_does_not_serve_or_none_at_all_is_refused_with_the_fix(home, models):
    configure(home, base_url=models.url, model="gpt-9")
    result = check()
    assert result.exit_code == 1 and "'gpt-9' is not among them" in result.output
    configure(home, base_url=models.url)
    result = check()
    assert result.exit_code == 1 and "set model under [llm]" in result.output


def test_without_a_base_url_the_check_says_how_to_set_one(home):
    result = check()
    assert result.exit_code == 1 and "put base_url under [llm]" in result.output and "11434" in result.output
    configure(home, base_url="localhost:11434")
    result = check()
    assert result.exit_code == 1 and "is not an http(s) address" in result.output


def test_an_endpoint_that_is_down_refuses_or_talks_nonsense_gets_one_clear_line(home, models):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    configure(home, base_url=f"http://127.0.0.1:{port}/v1", model="llama3.2")
    result = check()
    assert result.exit_code == 1 and "is its server running" in result.output and "Traceback" not in result.output

    configure(home, base_url=models.url, model="llama3.2")
    models.status, models.body = 401, b'{"error": {"message": "invalid api key"}}'
    assert "returned HTTP 401" in check().output
    models.status, models.body = 200, b"<html>a web page</html>"
    assert "did not answer with a JSON object" in check().output


def test_the_key_comes_only_from_the_environment_and_is_sent_as_a_bearer_token(home, models, monkeypatch):
    configure(home, base_url=models.url, model="llama3.2", api_key="sk-in-the-file")
    result = check()
    assert result.exit_code == 1 and "PODSIFT_LLM_API_KEY" in result.output and "sk-in-the-file" not in result.output

    configure(home, base_url=models.url, model="llama3.2")
    monkeypatch.setenv("PODSIFT_LLM_API_KEY", "sk-from-env")
    assert check().exit_code == 0
    assert models.authorization[-1] == "Bearer sk-from-env"
