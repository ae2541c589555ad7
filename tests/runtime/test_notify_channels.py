"""Notification channels are one registry (``engines.rule.channels``): the built-ins come in through
the entry-point group ``jimu.notify_channels``, and a new channel plugs in the same way — its own
settings checked when the rule compiles, its messages queued as its job kind and delivered by its
``send``, to the people who may read the record. The app is a purchase-request package."""
import pytest

from engines.rule import RuleInvalid, compile_rule
from engines.rule.channels import CHANNELS, Channel, channel
from runtime import jobs
from runtime.rules import messages
from tests.conftest import install_package, make_user
from tests.runtime.purchase_package import purchase_package

SENT: list[tuple[str, str, str]] = []


class MemoChannel(Channel):
    """A plugin's channel: a memo to each recipient, with a ``tag`` setting of its own."""

    type = "memo"
    label = {"zh-CN": "备忘", "en": "Memo"}
    settings = {"tag": {"type": "string", "maxLength": 10}}
    recipients = True
    job_kind = "test.memo"

    @staticmethod
    def send(jimu, conn, job):
        for principals, m in messages.user_messages(jimu, conn, job.payload):
            SENT.extend((pr.username, job.payload["settings"].get("tag", ""), m["subject"]) for pr in principals)


@pytest.fixture
def memo():
    CHANNELS.register(MemoChannel)
    SENT.clear()
    yield MemoChannel
    CHANNELS.unregister("memo")


def _rule(**action):
    return {"key": "told", "version": 1, "label": "Told", "form": "采购申请",
            "trigger": {"type": "record_created"},
            "actions": [{"type": "notify", "subject": "采购 {物品}", "body": "合计 {合计}", **action}]}


def test_the_built_in_channels_come_from_the_entry_points():
    assert {"in_app", "email", "webhook", "wecom", "dingtalk"} <= set(CHANNELS.types())
    assert CHANNELS.get("email").job_kind == "rule.email"


def test_an_unknown_channel_or_setting_is_refused_with_a_code(memo):
    with pytest.raises(RuleInvalid) as info:
        compile_rule(_rule(channel="fax", to={"users": ["ann"]}))
    assert info.value.errors[0]["code"] == "rule.unknown_channel" and "memo" in info.value.errors[0]["message"]
    with pytest.raises(RuleInvalid) as info:  # a plugin's setting belongs to its channel only
        compile_rule(_rule(channel="email", to={"users": ["ann"]}, tag="x"))
    assert "tag: not a setting of a email notification" in str(info.value.errors)
    with pytest.raises(RuleInvalid) as info:  # and is checked against the channel's schema
        compile_rule(_rule(channel="memo", to={"users": ["ann"]}, tag="x" * 11))
    assert info.value.errors[0]["code"] == "rule.bad_action"
    with pytest.raises(RuleInvalid):
        compile_rule(_rule(channel="memo"))  # a channel to people needs recipients
    compile_rule(_rule(channel="memo", to={"users": ["ann"]}, tag="急"))


def test_registering_a_channel_checks_it_at_registration():
    class NoSend(Channel):
        type, job_kind = "nosend", "test.nosend"

    with pytest.raises(TypeError):
        CHANNELS.register(NoSend)
    with pytest.raises(Exception) as info:
        channel("nosend")
    assert getattr(info.value, "code", None) == "rule.unknown_channel"


def test_a_plugin_channel_delivers_through_its_job_to_readers_only(memo, jimu, client, admin_headers):
    assert "test.memo" in jimu.services.jobs
    catalog = client.get("/api/v1/rules/catalog", headers=admin_headers).json
    notify = next(a for a in catalog["actions"] if a["type"] == "notify")
    assert "memo" in notify["config_schema"]["properties"]["channel"]["enum"]
    assert notify["channels"]["memo"]["settings"] == ["tag"] and "tag" in notify["config_schema"]["properties"]

    buyer = make_user(jimu, "buyer1")
    make_user(jimu, "outsider")  # no role: may not read purchase requests, so hears nothing
    install_package(jimu, purchase_package(rules=[_rule(channel="memo", tag="急",
                                                        to={"users": ["buyer1", "outsider"]})]))
    from runtime.auth.users import set_roles
    with jimu.begin() as conn:
        set_roles(conn, buyer, ["buyer"])
    from tests.runtime.rules_helpers import create
    create(jimu, "采购申请", {"物品": "显示器", "单价": 1000, "数量": 2})
    assert jobs.run_due(jimu) == 1
    assert SENT == [("buyer1", "急", "采购 显示器")]
