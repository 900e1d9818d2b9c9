"""WeChat, through wechatpy, and nothing else talks to WeChat.

The API base URL comes from WECHAT_API_BASE_URL (WeChat's own by default; the tests point
it at a local fake), the access token lives in Redis when REDIS_URL is set (shared by every
worker) and in process memory otherwise. WeChat's errors become clear domain errors.

Fetching a new access token invalidates the one before it, so refreshes are serialised: a
Redis lock across workers and hosts (a thread lock without Redis), and whoever gets the lock
first looks again whether another worker has already stored a fresh token.
"""

from __future__ import annotations

import contextlib
import threading
import time

import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from backend.core.errors import DomainError, ServiceUnavailable
from backend.core.i18n import N_
from backend.core.i18n import gettext as _

TIMEOUT = 5  # seconds for every call to WeChat (WECHAT_TIMEOUT overrides it per app)


# WeChat error codes we explain to people; anything else is "WeChat said no".
ERRORS = {
    40029: ("wechat_bad_code", 422, N_("微信登录凭证无效或已使用，请重新登录。")),
    40163: ("wechat_bad_code", 422, N_("微信登录凭证已使用，请重新登录。")),
    45011: ("wechat_rate_limited", 429, N_("微信接口调用过于频繁，请稍后再试。")),
    40226: ("wechat_user_blocked", 403, N_("该微信用户已被限制使用。")),
    41030: ("wechat_bad_page", 422, N_("小程序页面路径不存在，请检查配置。")),
    45009: ("wechat_quota", 429, N_("微信接口今日调用次数已达上限。")),
}


class WeChatError(DomainError):
    """WeChat refused, or could not be reached."""

    def __init__(self, message: str, *, slug: str, status: int, errcode: int | None = None):
        super().__init__(message, slug=slug, errors={"errcode": errcode} if errcode else {})
        self.status_code = status
        self.errcode = errcode


TOKEN_LOCK_KEY = "yipin:wechat:token-lock"
TOKEN_LOCK_SECONDS = 15  # the lock's lifetime (a crashed holder frees it) and longest wait
TOKEN_MARGIN = 60  # a token this close to its expiry is refreshed
_local_token_lock = threading.Lock()


def token_lock(session):
    """The lock around token refreshes: in Redis when *session* is Redis, else this process's."""
    if isinstance(session, RedisStorage):
        return session.redis.lock(
            TOKEN_LOCK_KEY, timeout=TOKEN_LOCK_SECONDS, blocking_timeout=TOKEN_LOCK_SECONDS
        )
    return _local_token_lock


class YipinWeChatClient(WeChatClient):
    """wechatpy's client with a configurable base URL, timeouts on every call and one
    token refresh at a time."""

    def __init__(self, appid: str, secret: str, base_url: str, session, timeout=TIMEOUT):
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.base_url = base_url.rstrip("/") + "/"
        self.API_BASE_URL = self.base_url + "cgi-bin/"
        self.wxa.API_BASE_URL = self.base_url
        self._used_token: str | None = None

    def _stored_token(self) -> str | None:
        """The stored token while it has more than TOKEN_MARGIN seconds to live."""
        token = self.session.get(self.access_token_key)
        expires_at = self.expires_at
        if token and (not expires_at or expires_at - time.time() > TOKEN_MARGIN):
            return token
        return None

    @property
    def access_token(self):
        """The shared token, refreshed under the lock when missing or about to expire."""
        token = self._stored_token()
        if token is None:
            with self._refresh_lock():
                token = self._stored_token()  # another worker may have refreshed meanwhile
                if token is None:
                    self._fetch_token()
                    token = self.session.get(self.access_token_key)
        self._used_token = token
        return token

    def fetch_access_token(self):
        """Refresh the token after WeChat refused it (wechatpy calls this on 40001/42001).

        When another worker has stored a different token since ours was read, that one is
        used instead of fetching again (which would invalidate it).
        """
        with self._refresh_lock():
            current = self._stored_token()
            if current and current != self._used_token:
                self._used_token = current
                return {"access_token": current}
            return self._fetch_token()

    @contextlib.contextmanager
    def _refresh_lock(self):
        """Hold the refresh lock; WeChatError (503) when it cannot be had in time."""
        lock = token_lock(self.session)
        if lock is _local_token_lock:
            with lock:
                yield
            return
        if not lock.acquire():
            raise WeChatError(
                _("暂时无法连接微信服务器，请稍后再试。"), slug="wechat_unreachable", status=503
            )
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # expired meanwhile: nothing to release
                lock.release()

    def _fetch_token(self):
        """Fetch and store an access token (wechatpy's own has no timeout)."""
        response = self._http.get(
            self.base_url + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        response.raise_for_status()
        result = response.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


def configured() -> bool:
    """Whether the mini-program's credentials are set."""
    return bool(current_app.config.get("WECHAT_APPID") and current_app.config.get("WECHAT_SECRET"))


def client() -> YipinWeChatClient:
    """A client for the configured mini-program, or ServiceUnavailable."""
    if not configured():
        raise ServiceUnavailable(
            _("微信未配置（缺少 WECHAT_APPID / WECHAT_SECRET）。"), slug="wechat_not_configured"
        )
    config = current_app.config
    storage = current_app.extensions.get("wechat_storage")
    if storage is None:
        redis_client = current_app.extensions.get("redis")
        storage = (
            RedisStorage(redis_client, prefix="yipin:wechat") if redis_client else MemoryStorage()
        )
        current_app.extensions["wechat_storage"] = storage
    return YipinWeChatClient(
        config["WECHAT_APPID"],
        config["WECHAT_SECRET"],
        config["WECHAT_API_BASE_URL"],
        storage,
        timeout=config.get("WECHAT_TIMEOUT", TIMEOUT),
    )


def call(action, errors: dict | None = None):
    """Run *action(client)* and turn WeChat's failures into WeChatError.

    *errors* maps errcodes to (slug, status, message) where a call means something more
    specific than :data:`ERRORS` says.
    """
    try:
        return action(client())
    except WeChatClientException as exc:
        errcode = getattr(exc, "errcode", None)
        slug, status, message = {**ERRORS, **(errors or {})}.get(
            errcode, ("wechat_error", 502, "微信接口返回错误，请稍后再试。")
        )
        raise WeChatError(_(message), slug=slug, status=status, errcode=errcode) from None
    except requests.Timeout:
        raise WeChatError(
            _("微信服务器响应超时，请稍后再试。"), slug="wechat_timeout", status=504
        ) from None
    except requests.RequestException:
        raise WeChatError(
            _("暂时无法连接微信服务器，请稍后再试。"), slug="wechat_unreachable", status=503
        ) from None


def wxa_code_png(scene: str, page: str | None = None) -> bytes:
    """The mini-program code image (getwxacodeunlimit) whose scene is *scene*."""

    def fetch(wechat: YipinWeChatClient):
        result = wechat.wxa.get_wxa_code_unlimited(scene, page=page, width=430)
        if isinstance(result, dict):  # a JSON answer without errcode is still not an image
            raise WeChatClientException(result.get("errcode"), result.get("errmsg"), client=wechat)
        return result.content

    return call(fetch)


# What the phone-number API's errors mean to the person binding a phone.
PHONE_ERRORS = {
    40029: ("wechat_bad_phone_code", 422, N_("手机号授权凭证无效或已过期，请重新授权。")),
}


def code_to_session(code: str) -> dict:
    """``code2session``: the openid, unionid (when there is one) and session_key of a login."""

    def exchange(wechat: YipinWeChatClient) -> dict:
        result = wechat.wxa.code_to_session(code)
        if not isinstance(result, dict) or not result.get("openid"):
            raise WeChatClientException(None, "no openid in the answer", client=wechat)
        if any(len(str(result.get(k) or "")) > 64 for k in ("openid", "unionid", "session_key")):
            raise WeChatClientException(None, "malformed identifiers", client=wechat)
        return result

    return call(exchange)


def phone_number(code: str) -> str:
    """``getuserphonenumber``: the phone number (without country code) a user allowed."""

    def fetch(wechat: YipinWeChatClient) -> str:
        result = wechat.wxa.get_phone_number(code)
        info = result.get("phone_info") if isinstance(result, dict) else None
        number = (info or {}).get("purePhoneNumber") or (info or {}).get("phoneNumber")
        if not number or len(number) > 30:
            raise WeChatClientException(None, "no phone number in the answer", client=wechat)
        return number

    return call(fetch, PHONE_ERRORS)


# msgSecCheck's answer for text that breaks WeChat's content rules.
RISKY_CONTENT = 87014


def text_is_safe(content: str) -> bool:
    """``security.msgSecCheck``: False when WeChat finds *content* risky (errcode 87014).

    Any other failure (WeChat unreachable, a bad token) is a WeChatError as usual.
    """

    def check(wechat: YipinWeChatClient) -> bool:
        try:
            wechat.wxa.check_text_security(content)
        except WeChatClientException as exc:
            if getattr(exc, "errcode", None) == RISKY_CONTENT:
                return False
            raise
        return True

    return call(check)
