/* Live kitchen players: every <video class="live-video" data-src="…m3u8">.
 *
 * Phones (Safari, WeChat's browser, most Android browsers) play HLS themselves: the link
 * becomes the video's src. Elsewhere hls.js (static/vendor/hls.js) feeds the video through
 * Media Source Extensions. Nothing is downloaded until the viewer presses play.
 */
(function () {
  "use strict";

  function showError(video, text) {
    var note = document.createElement("p");
    note.className = "live-error";
    note.textContent = text;
    video.insertAdjacentElement("afterend", note);
  }

  function attach(video) {
    var src = video.getAttribute("data-src");
    var lang = (document.documentElement.lang || "zh-CN").indexOf("en") === 0;
    var failed = lang ? "The stream has stopped or the link expired; reload the page."
                      : "直播已中断或链接已过期，请刷新页面。";
    if (!src) {
      return;
    }
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;  // native HLS: iOS, WeChat, Safari, many Android browsers
      video.addEventListener("error", function () { showError(video, failed); }, { once: true });
      return;
    }
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ autoStartLoad: false, liveDurationInfinity: true });
      var started = false;
      hls.attachMedia(video);
      hls.loadSource(src);
      video.addEventListener("play", function () {
        if (!started) {
          started = true;
          hls.startLoad(-1);
        }
      });
      hls.on(window.Hls.Events.ERROR, function (event, data) {
        if (data.fatal) {
          hls.destroy();
          showError(video, failed);
        }
      });
      return;
    }
    video.src = src;  // let the browser try
  }

  function start() {
    var videos = document.querySelectorAll("video.live-video[data-src]");
    for (var i = 0; i < videos.length; i += 1) {
      attach(videos[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
