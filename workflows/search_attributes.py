"""Custom search attributes: what makes leads filterable in the Temporal UI and `workflow list`."""

from temporalio.common import SearchAttributeKey

LEAD_STAGE = SearchAttributeKey.for_keyword("LeadStage")
LEAD_STATUS = SearchAttributeKey.for_keyword("LeadStatus")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
CART_VALUE = SearchAttributeKey.for_float("CartValue")
LAST_MESSAGE_AT = SearchAttributeKey.for_datetime("LastMessageAt")
LEAD_MODE = SearchAttributeKey.for_keyword("LeadMode")
VARIANT = SearchAttributeKey.for_keyword("Variant")  # A/B arm `profile:arm` (issue 11)
WATCHED_SKUS = SearchAttributeKey.for_keyword_list("WatchedSkus")  # asked about or carted: catalog triggers
CAMPAIGN = SearchAttributeKey.for_keyword("Campaign")  # on CampaignWorkflow runs: the campaign's name

ALL = (LEAD_STAGE, LEAD_STATUS, CHANNEL, ESCALATED, CART_VALUE, LAST_MESSAGE_AT, LEAD_MODE, VARIANT, WATCHED_SKUS,
       CAMPAIGN)

_CLI_TYPES = {"KEYWORD": "Keyword", "BOOL": "Bool", "DOUBLE": "Double", "DATETIME": "Datetime", "INT": "Int",
              "TEXT": "Text", "KEYWORD_LIST": "KeywordList"}


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` flags that register ours on `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return flags


async def ensure_registered(client: object, namespace: str) -> list[str]:
    """Register ours on an external server (self-hosted cluster) if missing; returns the names added.

    Temporal Cloud manages attributes with `tcld`, so a permission error there is reported, not fatal.
    """
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

    service = client.operator_service  # type: ignore[attr-defined]
    existing = await service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    known = set(existing.custom_attributes) | set(existing.system_attributes)
    missing = {key.name: int(key.indexed_value_type) for key in ALL if key.name not in known}
    if missing:
        await service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=namespace))
    return sorted(missing)
