// Runs first, before the page loads anything else (a classic script at the top of <head>): an
// access token in the link (?token=) moves into this tab's sessionStorage and out of the
// address bar, so it is not in the history, a bookmark, a screenshot or a Referer. The page's
// modules read it with pageToken() (ui.js). A reload works: the server let the first load in
// and keeps the token in an HttpOnly cookie for this page's path (web/security.py).
(function () {
  var url = new URL(window.location.href);
  var token = url.searchParams.get("token");
  if (!token) return;
  try {
    window.sessionStorage.setItem("liveroom.token:" + url.pathname, token);
  } catch (e) {
    // Storage disabled: this page keeps it for as long as it is open.
    Object.defineProperty(window, "liveroomPageToken", { value: token });
  }
  url.searchParams.delete("token");
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
})();
