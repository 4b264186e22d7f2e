"""The local cloud's emulator: moto's server with its module list read once and no access log;
every other behaviour is moto's own (the rest of the suite runs on it)."""
import logging
import os
import urllib.request

from ncap_iac.local import emulator


def test_quicken_keeps_the_module_list_moto_would_read_each_time():
    from moto import backends

    emulator.quicken()
    cached = backends.list_of_moto_modules
    listed = sorted(name for name in os.listdir(os.path.dirname(backends.__file__))
                    if os.path.isdir(os.path.join(os.path.dirname(backends.__file__), name))
                    and not name.startswith("__"))
    assert list(cached()) == listed and "s3" in listed and "sqs" in listed
    emulator.quicken()
    assert backends.list_of_moto_modules is cached, "quicken is idempotent"


def test_access_lines_are_not_logged_but_warnings_are():
    emulator.quicken()
    werkzeug = logging.getLogger("werkzeug")
    assert not werkzeug.isEnabledFor(logging.INFO) and werkzeug.isEnabledFor(logging.WARNING)


def test_threaded_server_answers_on_localhost_and_stops():
    server = emulator.threaded_server()
    endpoint = emulator.endpoint_of(server)
    try:
        assert endpoint.startswith("http://localhost:")
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.stop()
