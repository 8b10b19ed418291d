/*
 * The APT chat widget (rasa-webchat) configured for this site. Embedding it on another page
 * needs the two <script> tags of index.html; see "Embedding the widget" in the README.
 *
 * The Rasa server address defaults to this page's host on port 5005; `?socketUrl=` overrides
 * it (the tests use it to point at servers on other ports).
 */
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var socketUrl = params.get("socketUrl") || window.location.protocol + "//" + window.location.hostname + ":5005";

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

  // The widget's launcher is an image button without a name, and new messages are not
  // announced: give screen readers both.
  var observer = new MutationObserver(function () {
    var launcher = document.querySelector(".rw-launcher");
    if (launcher && !launcher.getAttribute("aria-label")) {
      launcher.setAttribute("aria-label", "Open the APT assistant");
    }
    var messages = document.getElementById("rw-messages");
    if (messages && !messages.getAttribute("aria-live")) {
      messages.setAttribute("aria-live", "polite");
      messages.setAttribute("role", "log");
    }
  });
  observer.observe(document.body, { childList: true, subtree: true });

  document.getElementById("clear-conversation").addEventListener("click", function () {
    window.sessionStorage.removeItem(STORAGE_KEY);
    window.location.reload();
  });
})();
