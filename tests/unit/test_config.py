import pytest

from stratus.common import config


def test_defaults_and_file_values(tmp_path):
    f = tmp_path / "stratus.conf"
    f.write_text("[DEFAULT]\nosapi_max_limit = 50\n[token]\nexpiration = 60\n"
                 "[api]\naccess_log = false\n")
    conf = config.Config(str(f))
    assert conf.DEFAULT.osapi_max_limit == 50
    assert conf.token.expiration == 60
    assert conf.api.access_log is False
    assert conf.token.cache_time == 300
    assert conf.policy_file == str(tmp_path / "policy.yaml")


@pytest.mark.parametrize("text,needle", [
    ("[token]\nexpiraton = 5\n", "expiraton"),
    ("[token]\nexpiration = soon\n", "expiration"),
    ("[api]\naccess_log = maybe\n", "access_log"),
])
def test_bad_files_name_the_option(tmp_path, text, needle):
    f = tmp_path / "stratus.conf"
    f.write_text(text)
    with pytest.raises(config.ConfigError, match=needle):
        config.Config(str(f))


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(config.ConfigError):
        config.Config(str(tmp_path / "nope.conf"))


def test_sample_lists_every_option_with_help_and_parses_back(tmp_path):
    text = config.sample()
    for group, opts in config.OPTIONS.items():
        assert f"[{group}]" in text
        for opt in opts:
            assert opt.help
            assert f"#{opt.name} = " in text
    # uncommenting every option gives a valid file with the defaults
    f = tmp_path / "s.conf"
    f.write_text("\n".join(line[1:] if line.startswith("#") and " = " in line else line
                           for line in text.splitlines()))
    conf = config.Config(str(f))
    assert conf.token.expiration == 3600


def test_sqlite_default_url_is_under_state_path(tmp_path):
    conf = config.Config(None, {"DEFAULT": {"state_path": str(tmp_path)}})
    assert conf.database_url == f"sqlite:///{tmp_path}/stratus.sqlite"
    assert conf.key_repository == f"{tmp_path}/fernet-keys"
