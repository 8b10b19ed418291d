/*
 * The APT chat widget (rasa-webchat) configured for this site. Embedding it on another page
 * needs the two <script> tags of index.html; see docs/widget.md.
 *
 * The Rasa server's address is the `data-socket-url` attribute of this script's own tag, set
 * by the page (the demo page server fills it in from the settings); without it, this page's
 * host on port 5005. Nothing in the page's address (no `?socketUrl=`) can change it: a crafted
 * link must not connect visitors to another "APT assistant".
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

  // rasa-webchat keeps the conversation (and its secret session id) under this key; "session"
  // storage keeps it to this browser tab, so the next person on a shared computer does not see it.
  var STORAGE_KEY = "chat_session";

  window.WebChat.default(
    {
      socketUrl: socketUrl,
      socketPath: "/socket.io/",
      initPayload: "/greet",
      title: "APT assistant",
      subtitle: "Association for the Prevention of Torture",
      inputTextFieldHint: "Type your question…",
      connectingText: "Connecting…",
      params: { storage: "session" },
      storage: "session",
      hideWhenNotConnected: false,
      showFullScreenButton: false,
      showMessageDate: false,
      displayUnreadCount: false,
      docViewer: false,
      mainColor: "#1d3c6e",
      conversationBackgroundColor: "#ffffff",
      userBackgroundColor: "#1d3c6e",
      userTextColor: "#ffffff",
      assistBackgoundColor: "#eef1f6",
      assistTextColor: "#1b1b1b",
      customMessageDelay: function () { return 0; }
    },
    null
  );

  // On a phone the widget fills the screen; its message area is transparent by default and
  // the page would show through.
  var style = document.createElement("style");
  style.textContent = ".rw-conversation-container, .rw-messages-container { background: #ffffff; }";
  document.head.appendChild(style);

  // Links in the bot's messages: rasa-webchat renders a Markdown link's address as it is, so
  // `[x](javascript:...)` would be a link that runs script. Only web and e-mail addresses stay
  // links; any other scheme loses its href (the text stays, no longer a link). Web links open
  // in a new tab that gets neither this page's window nor its address.
  var LINK_SCHEMES = ["http:", "https:", "mailto:"];

  function checkLinks() {
    var anchors = document.querySelectorAll(".rw-widget-container a[href]");
    for (var i = 0; i < anchors.length; i++) {
      var anchor = anchors[i];
      // The scheme as the browser reads the address (case, spaces and tabs dealt with), so
      // what a click would open.
      var scheme = anchor.protocol;
      if (LINK_SCHEMES.indexOf(scheme) === -1) {
        anchor.removeAttribute("href");
        anchor.removeAttribute("target");
        anchor.setAttribute("data-link-removed", "");
        continue;
      }
      if (anchor.getAttribute("rel") !== "noopener noreferrer") {
        anchor.setAttribute("rel", "noopener noreferrer");
      }
      if (scheme !== "mailto:" && anchor.getAttribute("target") !== "_blank") {
        anchor.setAttribute("target", "_blank");
      }
    }
  }

  // The widget's launcher is an image button without a name, and new messages are not
  // announced: give screen readers both.
  function improveAccessibility() {
    var launcher = document.querySelector(".rw-launcher");
    if (launcher && !launcher.getAttribute("aria-label")) {
      launcher.setAttribute("aria-label", "Open the APT assistant");
    }
    var messages = document.getElementById("rw-messages");
    if (messages && !messages.getAttribute("aria-live")) {
      messages.setAttribute("aria-live", "polite");
      messages.setAttribute("role", "log");
    }
  }

  // A mutation observer runs before the browser handles the next event, so a link is checked
  // before it can be clicked; an href set again later is checked again.
  var observer = new MutationObserver(function () {
    checkLinks();
    improveAccessibility();
  });
  observer.observe(document.body, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["href"]
  });

  document.getElementById("clear-conversation").addEventListener("click", function () {
    window.sessionStorage.removeItem(STORAGE_KEY);
    window.location.reload();
  });
})();
