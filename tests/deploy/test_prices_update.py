"""`ncap prices update` and the deploy-time lookup, against the AWS Price List API's GetProducts as
botocore's Stubber answers it on a real boto3 pricing client: these machines cannot reach the API,
so the answers are responses of its documented shape written here (every PriceList entry is a JSON
string with the product's attributes and its on-demand terms). Also: a config whose price the
table lacks compiles with a note, and an emulator, which has no Price List API, refuses to guess."""
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ncap_iac.aws.price_list import filters, on_demand_price, parse_product
from ncap_iac.config import load_document
from ncap_iac.deploy.prices import update
from ncap_iac.errors import NcapError

from deploy_helpers import ARTIFACTS, deploy, emulator, pipeline_copy  # noqa: F401  (fixtures: emulator)
from factories import minimal_config


def product(kind: str, region: str, usd: str, unit: str = "Hrs") -> str:
    sku = f"SKU{abs(hash((kind, region))) % 10 ** 8}"
    return json.dumps({
        "product": {"productFamily": "Compute Instance", "sku": sku,
                    "attributes": {"instanceType": kind, "regionCode": region, "operatingSystem": "Linux",
                                   "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}},
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {"priceDimensions": {f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
            "unit": unit, "pricePerUnit": {"USD": usd}, "description": f"${usd} per On Demand Linux {kind}"}}}}},
        "version": "20261201000000", "publicationDate": "2026-12-01T00:00:00Z"})


RECORDED = {
    "us-east-1": [[product("m5.16xlarge", "us-east-1", "3.0720000000"), product("p2.xlarge", "us-east-1", "0.9000000000")],
                  [product("g6.xlarge", "us-east-1", "0.8048000000"),
                   product("t3.micro", "us-east-1", "0.0000000000")]],  # a free-tier line: no price
    "ap-southeast-1": [[product("m5.16xlarge", "ap-southeast-1", "3.8400000000")]],
}


def stubbed(regions) -> tuple:
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    for region in regions:
        pages = RECORDED[region]
        for n, page in enumerate(pages):
            request = {"ServiceCode": "AmazonEC2", "Filters": filters(region=region)}
            if n:
                request["NextToken"] = f"page-{n}"
            answer = {"PriceList": page, "FormatVersion": "aws_v1"}
            if n + 1 < len(pages):
                answer["NextToken"] = f"page-{n + 1}"
            stub.add_response("get_products", answer, request)
    return client, stub


def test_update_writes_every_regions_prices_dated_from_recorded_answers(tmp_path):
    client, stub = stubbed(["us-east-1", "ap-southeast-1"])
    said = []
    with stub:
        table = update(client, ["us-east-1", "ap-southeast-1"], tmp_path / "table.json", said.append)
    stub.assert_no_pending_responses()
    written = json.loads((tmp_path / "table.json").read_text())
    assert written == table
    assert written["regions"] == {"ap-southeast-1": {"m5.16xlarge": 3.84},
                                  "us-east-1": {"g6.xlarge": 0.8048, "m5.16xlarge": 3.072, "p2.xlarge": 0.9}}
    assert written["source"].startswith("the AWS Price List API") and len(written["as_of"]) == 7
    assert said[0] == "[1/2] us-east-1: 3 instance types" and said[-1].startswith(f"wrote {tmp_path / 'table.json'}")


def test_update_keeps_the_spot_estimates_and_volume_prices_it_does_not_fetch(tmp_path):
    from ncap_iac import prices

    out = tmp_path / "table.json"
    out.write_text(json.dumps({"regions": {}, "spot": {"us-east-1": {"g5.xlarge": 0.4}},
                               "ebs": {"gp3_usd_per_gb_month": {"us-east-1": 0.08}}}))
    client, stub = stubbed(["us-east-1"])
    with stub:
        written = update(client, ["us-east-1"], out, lambda line: None)
    assert written["spot"] == {"us-east-1": {"g5.xlarge": 0.4}} and written["ebs"]["gp3_usd_per_gb_month"]
    fresh = tmp_path / "new.json"
    client, stub = stubbed(["us-east-1"])
    with stub:
        written = update(client, ["us-east-1"], fresh, lambda line: None)
    packaged = prices.table()
    assert written["spot"] == packaged["spot"] and written["ebs"] == packaged["ebs"], "else the packaged table's"


def test_update_refuses_an_unknown_region(tmp_path):
    with pytest.raises(NcapError, match="unknown region"):
        update(None, ["mars-north-1"], tmp_path / "t.json", print)


def test_one_price_is_read_with_the_type_and_region_filters():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response("get_products", {"PriceList": [product("r5.16xlarge", "eu-west-1", "4.5120000000")]},
                      {"ServiceCode": "AmazonEC2", "Filters": filters("r5.16xlarge", "eu-west-1")})
    stub.add_response("get_products", {"PriceList": []}, {"ServiceCode": "AmazonEC2", "Filters": ANY})
    with stub:
        assert on_demand_price(client, "r5.16xlarge", "eu-west-1") == 4.512
        with pytest.raises(NcapError, match="no on-demand Linux price for x9.huge in eu-west-1"):
            on_demand_price(client, "x9.huge", "eu-west-1")


def test_an_entry_without_an_hourly_usd_price_is_skipped():
    assert parse_product(product("m5.large", "us-east-1", "0.096")) == ("m5.large", "us-east-1", 0.096)
    assert parse_product(product("m5.large", "us-east-1", "0.096", unit="Quantity")) is None
    assert parse_product(product("m5.large", "us-east-1", "0")) is None


def budgeted(instance_type: str) -> dict:
    doc = minimal_config(Budgets={"PerLabMonthlyUSD": 50}, Notifications={"OperatorEmails": ["ops@example.org"]})
    doc["Workers"]["InstanceType"] = instance_type
    return doc


def test_a_price_the_table_lacks_compiles_with_a_note_and_a_parameter(tmp_path):
    from ncap_iac.compiler import compile_config

    config = load_document(budgeted("u7i-12tb.224xlarge"), tmp_path)
    [note] = [n for n in config.notes if n.path == "Workers.HourlyPriceUSD"]
    assert "ncap deploy looks it up in the AWS Price List API" in note.message
    template = compile_config(config, tmp_path).template
    assert template["Parameters"]["HourlyPriceU7i12tb224xlarge"]["AllowedPattern"] == r"^[0-9]+(\.[0-9]+)?$"
    variables = template["Resources"]["SubmitFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["HOURLY_PRICE_USD"] == {"Fn::Join": ["+", ["0", {"Ref": "HourlyPriceU7i12tb224xlarge"}]]}


def test_an_emulator_has_no_price_list_and_the_deploy_says_so(capsys, tmp_path, emulator, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def big(document):
        document["Workers"]["InstanceType"] = "u7i-12tb.224xlarge"
        document["Budgets"] = {"PerLabMonthlyUSD": 50}

    folder = pipeline_copy(tmp_path, "local-demo", big)
    code, out, err = deploy(capsys, folder)
    assert code == 1 and "an endpoint has no AWS Price List API: set Workers.HourlyPriceUSD" in err
