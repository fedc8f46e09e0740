"""Azure OpenAI: Chat Completions and Responses on an Azure deployment.

Thin subclasses of the OpenAI adapters (``AzureOpenAIChatAdapter``,
``AzureOpenAIResponsesAdapter``): Azure's URLs and API versions
(``azure_endpoint``), ``api-key`` or Entra ID auth (``entra_headers``), and
its content filter results (``map_azure_error``, ``blocked_categories``,
``filter_findings``) read into agentkit's terms.
"""

from ._adapter import AzureOpenAIChatAdapter, AzureOpenAIResponsesAdapter, azure_chat_quirks
from ._endpoint import ENTRA_SCOPE, AzureEndpoint, TokenProvider, azure_endpoint, entra_headers
from ._factory import create_azure_adapter, create_azure_responses_adapter
from ._filters import blocked_categories, content_filter_error, filter_findings, map_azure_error

__all__ = [
    "ENTRA_SCOPE",
    "AzureEndpoint",
    "AzureOpenAIChatAdapter",
    "AzureOpenAIResponsesAdapter",
    "TokenProvider",
    "azure_chat_quirks",
    "azure_endpoint",
    "blocked_categories",
    "content_filter_error",
    "create_azure_adapter",
    "create_azure_responses_adapter",
    "entra_headers",
    "filter_findings",
    "map_azure_error",
]
