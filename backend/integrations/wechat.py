"""WeChat, through wechatpy, and nothing else talks to WeChat.

The API base URL comes from WECHAT_API_BASE_URL (WeChat's own by default; the tests point
it at a local fake), the access token lives in Redis when REDIS_URL is set (shared by every
worker) and in process memory otherwise. WeChat's errors become clear domain errors.
"""

from __future__ import annotations

import time

import requests
from flask import current_app
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from backend.core.errors import DomainError, ServiceUnavailable
from backend.core.i18n import gettext as _

TIMEOUT = 5  # seconds for every call to WeChat

# WeChat error codes we explain to people; anything else is "WeChat said no".
ERRORS = {
    40029: ("wechat_bad_code", 422, "微信登录凭证无效或已使用，请重新登录。"),
    40163: ("wechat_bad_code", 422, "微信登录凭证已使用，请重新登录。"),
    45011: ("wechat_rate_limited", 429, "微信接口调用过于频繁，请稍后再试。"),
    40226: ("wechat_user_blocked", 403, "该微信用户已被限制使用。"),
    41030: ("wechat_bad_page", 422, "小程序页面路径不存在，请检查配置。"),
    45009: ("wechat_quota", 429, "微信接口今日调用次数已达上限。"),
}


class WeChatError(DomainError):
    """WeChat refused, or could not be reached."""

    def __init__(self, message: str, *, slug: str, status: int, errcode: int | None = None):
        super().__init__(message, slug=slug, errors={"errcode": errcode} if errcode else {})
        self.status_code = status
        self.errcode = errcode


class YipinWeChatClient(WeChatClient):
    """wechatpy's client with a configurable base URL and timeouts on every call."""

    def __init__(self, appid: str, secret: str, base_url: str, session):
        super().__init__(appid, secret, session=session, timeout=TIMEOUT)
        self.base_url = base_url.rstrip("/") + "/"
        self.API_BASE_URL = self.base_url + "cgi-bin/"
        self.wxa.API_BASE_URL = self.base_url

    def fetch_access_token(self):
        """Fetch and store an access token (wechatpy's own has no timeout)."""
        response = self._http.get(
            self.base_url + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=TIMEOUT,
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
        config["WECHAT_APPID"], config["WECHAT_SECRET"], config["WECHAT_API_BASE_URL"], storage
    )


def call(action):
    """Run *action(client)* and turn WeChat's failures into WeChatError."""
    try:
        return action(client())
    except WeChatClientException as exc:
        errcode = getattr(exc, "errcode", None)
        slug, status, message = ERRORS.get(
            errcode, ("wechat_error", 502, "微信接口返回错误，请稍后再试。")
        )
        raise WeChatError(_(message), slug=slug, status=status, errcode=errcode) from None
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
