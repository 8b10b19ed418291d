/*
 * The APT chat widget on this site (the widget itself: vendor/webchat.js, built from
 * web/src/ by `make install`; see docs/widget.md). Embedding it on another page needs the
 * stylesheet and the two <script> tags of index.html.
 *
 * The Rasa server's address is the `data-socket-url` attribute of this script's own tag, set
 * by the page (the demo page server fills it in from the settings); without it, this page's
 * host on port 5005. Nothing in the page's address can change it: a crafted link must not
 * connect visitors to another "APT assistant". The widget's language follows the page's
 * `<html lang>` (English, French or Spanish), and the visitor can switch it.
 */
(function () {
  "use strict";

  function socketUrlOf(script) {
    var value = script && script.getAttribute("data-socket-url");
    if (value) {
      try {
        var url = new URL(value);
        if (url.protocol === "http:" || url.protocol === "https:") {
          return url.origin;
        }
      } catch (error) { /* not an address: the default below */ }
      console.error("APT assistant: data-socket-url is not an http(s) address: " + value);
    }
    return window.location.protocol + "//" + window.location.hostname + ":5005";
  }

  var socketUrl = socketUrlOf(document.currentScript);
  if (!window.AptChat) {
    console.error("APT assistant: vendor/webchat.js is not loaded before widget.js");
    return;
  }
  window.AptChat.start({
    socketUrl: socketUrl,
    socketPath: "/socket.io/",
    // Optional: a button of the page that also clears the conversation.
    clearButton: document.getElementById("clear-conversation")
  });
})();
