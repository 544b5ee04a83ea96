"""Custom search attributes: what makes leads filterable in the Temporal UI and `workflow list`."""

from temporalio.common import SearchAttributeKey

LEAD_STAGE = SearchAttributeKey.for_keyword("LeadStage")
LEAD_STATUS = SearchAttributeKey.for_keyword("LeadStatus")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
CART_VALUE = SearchAttributeKey.for_float("CartValue")
LAST_MESSAGE_AT = SearchAttributeKey.for_datetime("LastMessageAt")
LEAD_MODE = SearchAttributeKey.for_keyword("LeadMode")

ALL = (LEAD_STAGE, LEAD_STATUS, CHANNEL, ESCALATED, CART_VALUE, LAST_MESSAGE_AT, LEAD_MODE)

_CLI_TYPES = {"KEYWORD": "Keyword", "BOOL": "Bool", "DOUBLE": "Double", "DATETIME": "Datetime", "INT": "Int",
              "TEXT": "Text"}


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` flags that register ours on `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return flags
