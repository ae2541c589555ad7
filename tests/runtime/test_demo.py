"""`jimu demo-data`: generic records from widgets' random values and the package's sample block."""
import sqlalchemy as sa

from tests.conftest import install_package
from tests.sample_package import package


def demo_package():
    pkg = package()
    customer, order = pkg["forms"][0], pkg["forms"][1]
    customer["demo_records"] = 40
    customer["sample"] = {"等级": {"weights": {"1": 3, "2": 1, "9": 0}}, "code": {"empty": 1}}
    order["demo_records"] = 120
    order["sample"] = {"金额": {"range": [10, 20]}}
    return pkg


def test_demo_data_follows_the_sample_block(runner, jimu, clock):
    install_package(jimu, demo_package())
    result = runner.invoke(args=["demo-data", "--days", "30", "--password", "pw-demo-1"])
    assert result.exit_code == 0, result.output
    assert "demo user demo_sales_1 (sales)" in result.output
    with jimu.read() as conn:
        customer, order = jimu.catalog.form("客户"), jimu.catalog.form("订单")
        levels = dict(conn.execute(sa.select(customer.columns["等级"], sa.func.count())
                                   .group_by(customer.columns["等级"])).all())
        assert sum(levels.values()) == 40 and set(levels) <= {1, 2} and levels.get(1, 0) > levels.get(2, 0)
        assert conn.execute(sa.select(sa.func.count()).where(customer.columns["code"].is_not(None))).scalar() == 0
        amounts = conn.execute(sa.select(order.columns["金额"])).scalars().all()
        assert len(amounts) == 120 and all(10 <= a <= 20 for a in amounts)
        customer_ids = set(conn.execute(sa.select(customer.table.c.id)).scalars())
        links = conn.execute(sa.select(order.columns["客户"])).scalars().all()
        assert all(link in customer_ids for link in links if link is not None)
        first, last = conn.execute(sa.select(sa.func.min(order.table.c.created_at),
                                             sa.func.max(order.table.c.created_at))).one()
        now = clock().replace(tzinfo=None)
        assert (now - first.replace(tzinfo=None)).days <= 30 and last.replace(tzinfo=None) <= now
    again = runner.invoke(args=["demo-data", "--if-empty"])
    assert again.exit_code == 0 and "nothing to do" in again.output


def test_demo_data_needs_an_installed_app(runner):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 2 and "jimu import" in result.output
