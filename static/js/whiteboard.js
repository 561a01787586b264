/*
 * Whiteboard refresh: fetch the board fragment every data-refresh-seconds and swap it
 * in, without reloading the page. If the session has ended (the fetch was redirected
 * to the login page), reload so the screen shows the login. If a fetch fails, the old
 * board stays and is marked out of date. Without this script, the page's
 * <noscript><meta http-equiv="refresh"> reloads the whole page instead.
 */
(function () {
  "use strict";

  var board = document.querySelector("[data-whiteboard-fragment]");
  if (!board || !window.fetch) {
    return;
  }
  var url = board.getAttribute("data-whiteboard-fragment");
  var seconds = parseInt(board.getAttribute("data-refresh-seconds"), 10) || 15;

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 403) {
          window.location.reload();
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) {
          board.innerHTML = html;
          board.classList.remove("wb-stale");
        }
      })
      .catch(function () {
        board.classList.add("wb-stale");
      });
  }

  window.setInterval(refresh, seconds * 1000);
})();
