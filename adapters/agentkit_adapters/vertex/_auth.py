"""Google Application Default Credentials as per-call bearer headers, through ``google-auth``.

``GoogleAuth`` finds the credentials the way every Google SDK does
(``google.auth.default``: the key file named by ``GOOGLE_APPLICATION_CREDENTIALS``,
gcloud's ``application-default login`` file, then the metadata server of a
Google Cloud machine) or takes credentials of the caller's, and hands out
``authorization: Bearer ...`` (plus ``x-goog-user-project`` for a quota
project) for each request. The token is refreshed when google-auth says it
is no longer valid, which is a few minutes *before* it expires.

google-auth's loading and refreshing are blocking I/O (a token endpoint, the
metadata server), so they run in a worker thread (``anyio.to_thread``), never
on the event loop; a ``threading.Lock`` makes concurrent calls refresh once,
whichever event loop they run on. google-auth talks HTTP through its own
``google.auth.transport.requests.Request`` (its metadata-server lookup needs
that transport anyway). google-auth is an optional dependency
(``agentkit-interop-adapters[vertex]``, which brings ``requests``), imported
when a ``GoogleAuth`` is made.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from agentkit.exceptions import AuthenticationError, ProviderConnectionError, UserError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["CLOUD_PLATFORM_SCOPE", "GoogleAuth"]

#: The OAuth scope Vertex AI asks for (the one google-genai and the Vertex SDKs use).
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

_INSTALL = "pip install 'agentkit-interop-adapters[vertex]'"


def _google_auth() -> Any:
    try:
        import google.auth
        import google.auth.exceptions
        import google.auth.transport.requests
    except ImportError as exc:
        raise UserError(
            "Vertex AI with Google credentials needs the google-auth library: "
            f"{_INSTALL} (or pass api_key= for a Vertex express-mode key)"
        ) from exc
    return google.auth


class GoogleAuth:
    """Bearer headers from Google credentials, refreshed before they expire.

    Args:
        credentials: ``google.auth.credentials.Credentials`` of your own
            (a service account loaded from a dict, impersonated credentials...);
            None finds Application Default Credentials on first use.
        scopes: OAuth scopes asked for the default credentials.
        request: The ``google.auth.transport.Request`` google-auth uses; None
            is its ``requests`` one.
        provider: Provider name, in errors.
        model_id: The model, in errors.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        scopes: tuple[str, ...] = (CLOUD_PLATFORM_SCOPE,),
        request: Any = None,
        provider: str = "vertex",
        model_id: str = "",
    ) -> None:
        _google_auth()  # fail at construction, not on the first call, when it is missing
        self._credentials = credentials
        self._project: str | None = None
        self._loaded = credentials is not None
        self._scopes = scopes
        self._request = request
        self._lock = threading.Lock()
        self.provider = provider
        self.model_id = model_id

    @property
    def credentials(self) -> Credentials | None:
        """The credentials, once found (None before the first call, for ADC)."""
        return self._credentials

    async def headers(self) -> dict[str, str]:
        """The auth headers for one request, refreshing the token first when needed.

        Raises:
            UserError: no credentials could be found (the message says where
                google-auth looked), or google-auth is not installed.
            AuthenticationError: the token endpoint refused the credentials.
            ProviderConnectionError: the token endpoint could not be reached.
        """
        credentials = self._credentials
        if credentials is not None and credentials.valid:
            return self._apply(credentials)  # the usual case: no thread hop
        return await anyio.to_thread.run_sync(self._refresh)

    async def project(self) -> str | None:
        """The project the default credentials name (a service account's, gcloud's)."""
        if not self._loaded:
            await anyio.to_thread.run_sync(self._load)
        return self._project

    def _transport(self) -> Any:
        if self._request is None:
            self._request = _google_auth().transport.requests.Request()
        return self._request

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            google_auth = _google_auth()
            try:
                self._credentials, self._project = google_auth.default(
                    scopes=list(self._scopes), request=self._transport()
                )
            except google_auth.exceptions.DefaultCredentialsError as exc:
                raise UserError(
                    f"{self.provider}: no Google credentials found ({exc}). Set "
                    "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run "
                    "`gcloud auth application-default login`, run on Google Cloud, "
                    "or pass api_key= for a Vertex express-mode key"
                ) from exc
            self._loaded = True

    def _refresh(self) -> dict[str, str]:
        self._load()
        exceptions = _google_auth().exceptions
        with self._lock:
            credentials = self._credentials
            assert credentials is not None
            if not credentials.valid:  # another call may have refreshed it meanwhile
                try:
                    credentials.refresh(self._transport())  # type: ignore[no-untyped-call]
                except exceptions.RefreshError as exc:
                    raise AuthenticationError(
                        f"Google refused the credentials' token refresh: {exc} (check the "
                        "key file or run `gcloud auth application-default login` again)",
                        provider=self.provider,
                        model_id=self.model_id,
                        status_code=401,
                        body=str(exc),
                    ) from exc
                except exceptions.TransportError as exc:
                    raise ProviderConnectionError(
                        f"could not reach Google's token endpoint: {exc}",
                        provider=self.provider,
                        model_id=self.model_id,
                    ) from exc
            return self._apply(credentials)

    @staticmethod
    def _apply(credentials: Credentials) -> dict[str, str]:
        headers: dict[str, str] = {}
        credentials.apply(headers)  # type: ignore[no-untyped-call]  # authorization, and x-goog-user-project when set
        return headers
