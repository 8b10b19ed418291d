/*
 * The APT chat widget: a small widget of our own on socket.io-client (docs/widget.md).
 *
 * Built into web/vendor/webchat.js by scripts/build_widget.py, which puts socket.io-client's
 * own bundle before this file (as `io`, kept out of the page's globals) and the APT's postal
 * address from content/knowledge/apt.yml (`POSTAL_ADDRESS`). The page starts it with
 * `window.AptChat.start({socketUrl: ...})` (web/widget.js).
 *
 * No text from the visitor or the assistant is ever parsed as HTML: messages are built
 * as DOM nodes (renderMarkdown below), and links keep only http(s) and mailto addresses.
 */
/* global io, POSTAL_ADDRESS */
"use strict";

var TEXTS = {
  en: {
    launcher: "Ask the APT assistant",
    title: "APT assistant",
    subtitle: "Association for the Prevention of Torture",
    close: "Close the assistant",
    clear: "Clear conversation",
    cleared: "Conversation cleared. A new one has started.",
    language: "Language",
    conversation: "Conversation",
    hint: "Use the up and down arrow keys to read the conversation message by message.",
    you: "You said:",
    bot: "APT assistant said:",
    input: "Your message",
    placeholder: "Type your question…",
    send: "Send",
    menu: "Main questions",
    suggestions: "Suggested questions",
    connecting: "Connecting to the assistant…",
    offline: "We can't reach the assistant right now; it will try again automatically. You can also write to the APT:",
    reconnected: "Connected again.",
    typing: "The assistant is writing…",
    slow: "The answer is taking longer than usual. Please wait a moment.",
    notSent: "Not sent: the assistant cannot be reached right now.",
    helpful: "Was this helpful?",
    yes: "Yes, this was helpful",
    no: "No, this was not helpful",
    thanks: "Thank you for your feedback.",
    feedbackFailed: "Your feedback could not be sent."
  },
  fr: {
    launcher: "Poser une question à l'assistant de l'APT",
    title: "Assistant de l'APT",
    subtitle: "Association pour la prévention de la torture",
    close: "Fermer l'assistant",
    clear: "Effacer la conversation",
    cleared: "Conversation effacée. Une nouvelle conversation a commencé.",
    language: "Langue",
    conversation: "Conversation",
    hint: "Flèches haut et bas : lire la conversation message par message.",
    you: "Vous avez écrit :",
    bot: "L'assistant de l'APT a répondu :",
    input: "Votre message",
    placeholder: "Tapez votre question…",
    send: "Envoyer",
    menu: "Questions principales",
    suggestions: "Questions suggérées",
    connecting: "Connexion à l'assistant…",
    offline: "Impossible de joindre l'assistant pour le moment ; nouvelle tentative automatique. Vous pouvez aussi écrire à l'APT :",
    reconnected: "Connexion rétablie.",
    typing: "L'assistant écrit…",
    slow: "La réponse prend plus de temps que d'habitude. Merci de patienter.",
    notSent: "Non envoyé : l'assistant est injoignable pour le moment.",
    helpful: "Cette réponse vous a-t-elle aidé ?",
    yes: "Oui, cette réponse m'a aidé",
    no: "Non, cette réponse ne m'a pas aidé",
    thanks: "Merci pour votre avis.",
    feedbackFailed: "Votre avis n'a pas pu être envoyé."
  },
  es: {
    launcher: "Preguntar al asistente de la APT",
    title: "Asistente de la APT",
    subtitle: "Asociación para la Prevención de la Tortura",
    close: "Cerrar el asistente",
    clear: "Borrar la conversación",
    cleared: "Conversación borrada. Ha empezado una nueva.",
    language: "Idioma",
    conversation: "Conversación",
    hint: "Flechas arriba y abajo: leer la conversación mensaje por mensaje.",
    you: "Usted escribió:",
    bot: "El asistente de la APT respondió:",
    input: "Su mensaje",
    placeholder: "Escriba su pregunta…",
    send: "Enviar",
    menu: "Preguntas principales",
    suggestions: "Preguntas sugeridas",
    connecting: "Conectando con el asistente…",
    offline: "No podemos conectar con el asistente en este momento; se volverá a intentar automáticamente. También puede escribir a la APT:",
    reconnected: "Conexión restablecida.",
    typing: "El asistente está escribiendo…",
    slow: "La respuesta está tardando más de lo habitual. Espere un momento, por favor.",
    notSent: "No enviado: no se puede conectar con el asistente en este momento.",
    helpful: "¿Le resultó útil?",
    yes: "Sí, me resultó útil",
    no: "No, no me resultó útil",
    thanks: "Gracias por su opinión.",
    feedbackFailed: "No se pudo enviar su opinión."
  }
};
var LANGUAGES = [["en", "English"], ["fr", "Français"], ["es", "Español"]];
var STORAGE_KEY = "apt_chat";
var GREETING_PAYLOAD = "/greet";
var MENU_PAYLOAD = "/help";
var SLOW_AFTER_MS = 10000;
var MAX_MESSAGE_CHARS = 2000;
var FEEDBACK_TIMEOUT_MS = 10000; // the server answers within its database timeout (3 s)
var LINK_SCHEMES = ["http:", "https:", "mailto:"];
// An answer's id as the assistant sends it (language/answers.py): only answers have one.
var ANSWER_ID = /^[0-9a-f]{16}\.[0-9a-f]{16}$/;
var SCROLL_MARGIN = 8; // px left above a message scrolled to its start

// -- Markdown, as DOM nodes ------------------------------------------------------------------

/** A link's address if the browser would open it as http(s) or mailto, else null. */
function safeHref(address) {
  try {
    var url = new URL(address, window.location.href);
    return LINK_SCHEMES.indexOf(url.protocol) === -1 ? null : url.href;
  } catch (error) {
    return null;
  }
}

var INLINE = /\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;

/** Inline Markdown (bold, italics, links, bare web addresses) appended to `parent`. */
function appendInline(parent, text) {
  while (text) {
    var match = INLINE.exec(text);
    if (!match) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    if (match.index) parent.appendChild(document.createTextNode(text.slice(0, match.index)));
    if (match[1] !== undefined) {
      var strong = document.createElement("strong");
      appendInline(strong, match[1]);
      parent.appendChild(strong);
    } else if (match[2] !== undefined || match[3] !== undefined) {
      var em = document.createElement("em");
      appendInline(em, match[2] !== undefined ? match[2] : match[3]);
      parent.appendChild(em);
    } else {
      var label = match[4] !== undefined ? match[4] : match[6];
      var href = safeHref(match[4] !== undefined ? match[5] : match[6]);
      if (href) {
        var link = document.createElement("a");
        link.href = href;
        link.rel = "noopener noreferrer";
        if (href.indexOf("mailto:") !== 0) link.target = "_blank";
        link.textContent = label;
        parent.appendChild(link);
      } else {
        // Any other scheme (javascript:, data:, ...) is not a link: its words stay as text.
        var span = document.createElement("span");
        span.className = "apt-chat-link-removed";
        span.textContent = label;
        parent.appendChild(span);
      }
    }
    text = text.slice(match.index + match[0].length);
  }
}

/** Paragraphs, "- " lists (also right after a line of text) and line breaks; everything else
 * through appendInline. */
function renderMarkdown(text) {
  var fragment = document.createDocumentFragment();
  var LIST_ITEM = /^\s*[-*•]\s+/;
  String(text).split(/\n{2,}/).forEach(function (block) {
    var container = null; // the <p> or <ul> being filled
    block.split("\n").forEach(function (line) {
      if (!line.trim()) return;
      if (LIST_ITEM.test(line)) {
        if (!container || container.tagName !== "UL") {
          container = document.createElement("ul");
          fragment.appendChild(container);
        }
        var item = document.createElement("li");
        appendInline(item, line.replace(LIST_ITEM, ""));
        container.appendChild(item);
        return;
      }
      if (!container || container.tagName !== "P") {
        container = document.createElement("p");
        fragment.appendChild(container);
      } else {
        container.appendChild(document.createElement("br"));
      }
      appendInline(container, line);
    });
  });
  return fragment;
}

// -- helpers ----------------------------------------------------------------------------------

function el(tag, attributes, children) {
  var node = document.createElement(tag);
  Object.keys(attributes || {}).forEach(function (name) {
    var value = attributes[name];
    if (value === null || value === undefined || value === false) return;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  });
  (children || []).forEach(function (child) {
    if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

/** A decorative icon drawn as SVG (no icon font or emoji font needed): the launcher's speech
 * bubble, and the feedback's thumb (the shape of Material Icons' thumb_up, Apache-2.0). */
var ICONS = {
  bubble: "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z",
  thumb: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"
};
function icon(name, size, turned) {
  var ns = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  var path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", ICONS[name]);
  if (turned) path.setAttribute("transform", "rotate(180 12 12)");
  svg.appendChild(path);
  return svg;
}
function bubbleIcon() { return icon("bubble", 22, false); }

function loadState() {
  try {
    var stored = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
    if (stored && Array.isArray(stored.messages)) return stored;
  } catch (error) { /* unreadable: a new conversation */ }
  return null;
}

function pageLanguage() {
  var lang = (document.documentElement.getAttribute("lang") || "en").slice(0, 2).toLowerCase();
  return TEXTS[lang] ? lang : "en";
}

// -- the widget -------------------------------------------------------------------------------

function start(options) {
  if (!options || !options.socketUrl) throw new Error("AptChat.start needs a socketUrl");
  window.sessionStorage.removeItem("chat_session"); // rasa-webchat's key, from before
  var fresh = { token: null, lang: pageLanguage(), open: false, messages: [] };
  var state = loadState() || fresh;
  if (!TEXTS[state.lang]) state.lang = pageLanguage();
  var socket = null;
  var connected = false;
  var everConnected = false;
  var offline = false;
  var pending = false; // a message was sent and no reply has come yet
  var replyStarted = false; // the reply to the last message has begun (scroll its first part)
  var greeting = false; // waiting for the greeting (the reply to GREETING_PAYLOAD)
  var slowTimer = null;
  var nodes = {}; // message id -> its <li>
  var noteKey = null; // the text shown beside the message box ("Not sent"), if any
  var replyStart = null; // the id of the first message of the reply being received

  function t(key) { return TEXTS[state.lang][key]; }
  function save() {
    try { window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state)); } catch (error) { /* full */ }
  }
  function metadata() { return { language: state.lang }; }

  // The structure. Every control is a real button, select or text box. The widget is a
  // landmark of its own (an <aside> named by its title), so nothing of it lies outside one.
  var root = el("aside", { className: "apt-chat", "data-apt-chat": "" });
  var launcher = el("button", { type: "button", className: "apt-chat-launcher", "aria-expanded": "false", "aria-controls": "apt-chat-dialog" });
  var launcherText = el("span");
  launcher.appendChild(bubbleIcon());
  launcher.appendChild(launcherText);

  var dialog = el("div", { id: "apt-chat-dialog", className: "apt-chat-dialog", role: "dialog", "aria-labelledby": "apt-chat-title", hidden: true });
  var title = el("h2", { id: "apt-chat-title", className: "apt-chat-title" });
  var subtitle = el("p", { className: "apt-chat-subtitle" });
  var languageLabel = el("label", { for: "apt-chat-language" });
  var languageSelect = el("select", { id: "apt-chat-language", className: "apt-chat-language" });
  LANGUAGES.forEach(function (entry) {
    languageSelect.appendChild(el("option", { value: entry[0], lang: entry[0], text: entry[1] }));
  });
  var clearButton = el("button", { type: "button", className: "apt-chat-clear" });
  var closeButton = el("button", { type: "button", className: "apt-chat-close" });
  var closeIcon = el("span", { "aria-hidden": "true", text: "×" });
  var closeLabel = el("span", { className: "apt-chat-visually-hidden" });
  closeButton.appendChild(closeIcon);
  closeButton.appendChild(closeLabel);
  // The bar (title and close) never leaves the window; the tools under it scroll away with
  // the messages when the window is too short for both (chat.css, "short windows").
  var bar = el("div", { className: "apt-chat-bar" }, [title, closeButton]);
  var tools = el("div", { className: "apt-chat-tools" }, [
    subtitle,
    el("span", { className: "apt-chat-language-field" }, [languageLabel, languageSelect]),
    clearButton
  ]);
  var statusBar = el("div", { className: "apt-chat-status", hidden: true });
  var log = el("div", { className: "apt-chat-log", tabindex: "0", role: "region", "aria-describedby": "apt-chat-hint" });
  var hint = el("p", { id: "apt-chat-hint", className: "apt-chat-visually-hidden" });
  var list = el("ol", { className: "apt-chat-messages" });
  var typing = el("li", { className: "apt-chat-typing", hidden: true });
  var typingText = el("span");
  typing.appendChild(typingText);
  typing.appendChild(el("span", { className: "apt-chat-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]));
  log.appendChild(hint);
  log.appendChild(list);
  log.appendChild(typing);

  var menuButton = el("button", { type: "button", className: "apt-chat-menu" });
  var inputLabel = el("label", { for: "apt-chat-input", className: "apt-chat-visually-hidden" });
  // Shown beside the message box when a message could not be sent (it stays in the box).
  var note = el("p", { id: "apt-chat-note", className: "apt-chat-note", hidden: true });
  var input = el("textarea", { id: "apt-chat-input", className: "apt-chat-input", rows: "1", maxlength: String(MAX_MESSAGE_CHARS), autocomplete: "off" });
  var sendButton = el("button", { type: "submit", className: "apt-chat-send" });
  var form = el("form", { className: "apt-chat-composer", novalidate: true }, [
    menuButton, inputLabel, note, input, sendButton
  ]);
  // The one live region: the assistant's messages and the widget's state changes, never the
  // visitor's own words nor the buttons' texts.
  var announcer = el("div", { className: "apt-chat-visually-hidden apt-chat-announcer", "aria-live": "polite", "aria-atomic": "false" });

  dialog.appendChild(bar);
  dialog.appendChild(tools);
  dialog.appendChild(statusBar);
  dialog.appendChild(log);
  dialog.appendChild(form);
  root.appendChild(dialog);
  root.appendChild(launcher);
  root.appendChild(announcer);
  document.body.appendChild(root);

  function announce(text) {
    var line = el("p", { text: text });
    announcer.appendChild(line);
    while (announcer.childNodes.length > 5) announcer.removeChild(announcer.firstChild);
  }

  // -- texts in the chosen language --
  function applyTexts() {
    root.setAttribute("lang", state.lang);
    root.setAttribute("aria-label", t("title"));
    launcherText.textContent = t("launcher");
    title.textContent = t("title");
    subtitle.textContent = t("subtitle");
    languageLabel.textContent = t("language");
    languageSelect.value = state.lang;
    clearButton.textContent = t("clear");
    closeLabel.textContent = t("close");
    log.setAttribute("aria-label", t("conversation"));
    hint.textContent = t("hint");
    typingText.textContent = t("typing");
    menuButton.textContent = t("menu");
    inputLabel.textContent = t("input");
    input.setAttribute("placeholder", t("placeholder"));
    sendButton.textContent = t("send");
    state.messages.forEach(updateMessage);
    showStatus();
    showNote(noteKey);
  }

  // -- the note beside the message box --
  function showNote(key) {
    noteKey = key;
    note.hidden = !key;
    note.textContent = key ? t(key) : "";
    if (key) input.setAttribute("aria-describedby", "apt-chat-note");
    else input.removeAttribute("aria-describedby");
  }

  function notSent() {
    setStatus("offline");
    showNote("notSent");
    announce(t("notSent"));
  }

  // -- scrolling: only the message list scrolls (or, in a short window, the whole window
  // under its bar and above its message box: chat.css); nothing else is ever scrolled --
  function pane() {
    return getComputedStyle(log).overflowY === "visible" ? dialog : log;
  }

  /** The part of the scrolling pane not covered by the bar and the message box. */
  function visibleBox(scroller) {
    var box = scroller.getBoundingClientRect();
    if (scroller === log) return { top: box.top, bottom: box.bottom };
    return { top: bar.getBoundingClientRect().bottom, bottom: form.getBoundingClientRect().top };
  }

  /** Scroll the pane so that ``node`` shows: from its start ("start"), or as little as
   * needed ("nearest"). */
  function reveal(node, how) {
    var scroller = pane();
    var shown = visibleBox(scroller);
    var box = node.getBoundingClientRect();
    if (how === "start" || box.top < shown.top || box.height > shown.bottom - shown.top) {
      scroller.scrollTop += box.top - shown.top - SCROLL_MARGIN;
    } else if (box.bottom > shown.bottom) {
      scroller.scrollTop += box.bottom - shown.bottom + SCROLL_MARGIN;
    }
  }

  /** A later part of a reply: shown as far as the reply's start (``first``) stays in view. */
  function follow(node, first) {
    var scroller = pane();
    var shown = visibleBox(scroller);
    var needed = node.getBoundingClientRect().bottom - shown.bottom + SCROLL_MARGIN;
    var room = first.getBoundingClientRect().top - shown.top - SCROLL_MARGIN;
    if (needed > 0 && room > 0) scroller.scrollTop += Math.min(needed, room);
  }

  /** On opening (and after a reload): at the newest messages, the latest reply shown from
   * its start (if it is longer than the pane, the visitor reads on by scrolling down); the
   * greeting alone from its start. */
  function showLatest() {
    var scroller = pane();
    var onlyBot = state.messages.every(function (m) { return m.from === "bot"; });
    if (!state.messages.length || (onlyBot && scroller === log)) { scroller.scrollTop = 0; return; }
    if (onlyBot) { scroller.scrollTop = 0; reveal(nodes[state.messages[0].id], "start"); return; }
    var first = lastUserIndex() + 1 < state.messages.length ? state.messages[lastUserIndex() + 1] : state.messages[lastUserIndex()];
    scroller.scrollTop = scroller.scrollHeight; // the end, then back to the reply's start if needed
    var node = nodes[first.id];
    if (node && node.getBoundingClientRect().top < visibleBox(scroller).top) reveal(node, "start");
  }

  // -- status: connecting, offline, slow --
  var statusKind = null;
  function setStatus(kind) {
    if (statusKind === kind) return;
    statusKind = kind;
    showStatus();
    if (kind === "offline") announce(t("offline") + " " + POSTAL_ADDRESS.join(", "));
    else if (kind === "slow") announce(t("slow"));
  }
  function showStatus() {
    statusBar.textContent = "";
    statusBar.className = "apt-chat-status" + (statusKind ? " apt-chat-status-" + statusKind : "");
    if (!statusKind) { statusBar.hidden = true; return; }
    statusBar.hidden = false;
    statusBar.appendChild(el("p", { text: t(statusKind) }));
    if (statusKind === "offline") {
      var address = el("address", {});
      POSTAL_ADDRESS.forEach(function (line, index) {
        if (index) address.appendChild(el("br"));
        address.appendChild(document.createTextNode(line));
      });
      statusBar.appendChild(address);
    }
  }

  // -- messages --
  function lastUserIndex() {
    for (var i = state.messages.length - 1; i >= 0; i--) if (state.messages[i].from === "user") return i;
    return -1;
  }

  function buildMessage(message, position) {
    var li = el("li", { className: "apt-chat-message apt-chat-" + message.from, tabindex: "-1", "data-id": String(message.id) });
    li.appendChild(el("span", { className: "apt-chat-visually-hidden", text: message.from === "bot" ? t("bot") : t("you") }));
    var bubble = el("div", { className: "apt-chat-bubble" });
    if (message.from === "bot") bubble.appendChild(renderMarkdown(message.text || ""));
    else bubble.appendChild(el("p", { text: message.text }));
    li.appendChild(bubble);
    var answered = position < lastUserIndex();
    if (message.from === "bot" && message.buttons && message.buttons.length && !answered) {
      var group = el("div", { className: "apt-chat-replies", role: "group", "aria-label": t("suggestions") });
      message.buttons.forEach(function (button, index) {
        var reply = el("button", { type: "button", className: "apt-chat-reply", "data-focus": "reply-" + index, text: button.title });
        reply.addEventListener("click", function () { sendMessage(button.title, button.payload); });
        group.appendChild(reply);
      });
      li.appendChild(group);
    }
    if (message.from === "bot" && message.feedback && message.answer) {
      var heading = el("span", { className: "apt-chat-feedback-question", id: "apt-chat-fb-" + message.id, text: t("helpful") });
      var box = el("div", { className: "apt-chat-feedback", role: "group", "aria-labelledby": "apt-chat-fb-" + message.id }, [heading]);
      [["up", false, "yes"], ["down", true, "no"]].forEach(function (choice) {
        var button = el("button", {
          type: "button", className: "apt-chat-vote", "data-focus": "vote-" + choice[0],
          "aria-label": t(choice[2]), "aria-pressed": message.vote === choice[0] ? "true" : "false", title: t(choice[2])
        }, [icon("thumb", 18, choice[1])]);
        button.addEventListener("click", function () { sendFeedback(message, choice[0]); });
        box.appendChild(button);
      });
      if (message.voteNote) box.appendChild(el("span", { className: "apt-chat-feedback-note", text: t(message.voteNote) }));
      li.appendChild(box);
    }
    return li;
  }

  function updateMessage(message) {
    var old = nodes[message.id];
    if (!old) return;
    var position = state.messages.indexOf(message);
    var focused = old.contains(document.activeElement) ? document.activeElement : null;
    var fresh = buildMessage(message, position);
    old.parentNode.replaceChild(fresh, old);
    nodes[message.id] = fresh;
    if (focused) {
      var key = focused.getAttribute("data-focus");
      var again = key && fresh.querySelector('[data-focus="' + key + '"]');
      (again || fresh).focus({ preventScroll: true });
    }
  }

  function appendMessage(message) {
    var li = buildMessage(message, state.messages.indexOf(message));
    nodes[message.id] = li;
    list.appendChild(li);
    return li;
  }

  function renderAll() {
    list.textContent = "";
    nodes = {};
    state.messages.forEach(appendMessage);
  }

  function nextId() {
    var last = state.messages[state.messages.length - 1];
    return last ? last.id + 1 : 1;
  }

  function addBotMessage(data) {
    var text = typeof data.text === "string" ? data.text : "";
    var replies = Array.isArray(data.quick_replies) ? data.quick_replies : Array.isArray(data.buttons) ? data.buttons : [];
    var buttons = replies.filter(function (button) {
      return button && typeof button.title === "string" && typeof button.payload === "string";
    }).map(function (button) { return { title: button.title, payload: button.payload }; });
    if (!text && !buttons.length) return;
    var answer = typeof data.answer === "string" && ANSWER_ID.test(data.answer) ? data.answer : null;
    var isGreeting = greeting;
    var message = { id: nextId(), from: "bot", text: text, buttons: buttons };
    // "Was this helpful?" under answers only (they come with their id), once per reply: on
    // its last answer (Rasa sends a long answer, or several, as several messages).
    if (answer) {
      message.answer = answer;
      message.feedback = true;
      for (var i = lastUserIndex() + 1; i < state.messages.length; i++) {
        var earlier = state.messages[i];
        if (earlier.feedback && !earlier.vote) {
          earlier.feedback = false;
          updateMessage(earlier);
        }
      }
    }
    state.messages.push(message);
    save();
    stopWaiting();
    var li = appendMessage(message);
    // Reading order: the first part of a reply is scrolled into view from its start; the
    // parts after it do not push it away.
    if (!replyStarted) {
      replyStarted = true;
      replyStart = message.id;
      if (isGreeting && pane() === log) log.scrollTop = 0;
      else reveal(li, "start");
    } else if (nodes[replyStart]) {
      follow(li, nodes[replyStart]);
    }
    announce(t("bot") + " " + li.querySelector(".apt-chat-bubble").textContent);
  }

  function stopWaiting() {
    pending = false;
    typing.hidden = true;
    window.clearTimeout(slowTimer);
    if (statusKind === "slow") setStatus(null);
  }

  function startWaiting() {
    pending = true;
    replyStarted = false;
    typing.hidden = false;
    window.clearTimeout(slowTimer);
    slowTimer = window.setTimeout(function () { if (pending && connected) setStatus("slow"); }, SLOW_AFTER_MS);
  }

  // -- sending --
  function emitMessage(payload) {
    socket.emit("user_uttered", { message: payload, session_id: state.token, metadata: metadata() });
  }

  function sendMessage(text, payload) {
    text = text.trim();
    if (!text) return;
    if (!connected) {
      notSent();
      return false;
    }
    showNote(null);
    var message = { id: nextId(), from: "user", text: text.slice(0, MAX_MESSAGE_CHARS) };
    var hadFocusInLog = log.contains(document.activeElement);
    state.messages.push(message);
    save();
    // The buttons of earlier messages are answered now.
    state.messages.forEach(function (other) { if (other.buttons && other.buttons.length) updateMessage(other); });
    var li = appendMessage(message);
    if (hadFocusInLog && !log.contains(document.activeElement)) li.focus({ preventScroll: true });
    greeting = false;
    startWaiting();
    reveal(li, "nearest");
    reveal(typing, "nearest");
    emitMessage(payload || message.text);
    return true;
  }

  function sendFeedback(message, value) {
    if (!connected) {
      message.voteNote = "feedbackFailed";
      updateMessage(message);
      return;
    }
    message.vote = value;
    message.voteNote = null;
    save();
    updateMessage(message);
    socket.timeout(FEEDBACK_TIMEOUT_MS).emit("feedback", { answer: message.answer, value: value }, function (error, answer) {
      message.voteNote = !error && answer && answer.ok ? "thanks" : "feedbackFailed";
      if (message.voteNote === "feedbackFailed") message.vote = null;
      save();
      updateMessage(message);
      announce(t(message.voteNote));
    });
  }

  // -- the connection --
  function connect() {
    if (socket) return;
    setStatus("connecting");
    socket = io(options.socketUrl, {
      path: options.socketPath || "/socket.io/",
      // One WebSocket from the first packet: no long-polling, whose requests could reach
      // another Rasa worker than the one holding the session.
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 8000
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: state.token, metadata: metadata() });
    });
    socket.on("session_confirm", function (token) {
      if (typeof token !== "string") return;
      if (state.token && token !== state.token) {
        // The server no longer knows the stored conversation: start again, honestly.
        state.messages = [];
        renderAll();
      }
      state.token = token;
      connected = true;
      var wasOffline = offline;
      offline = false;
      setStatus(null);
      if (noteKey === "notSent") showNote(null);
      if (wasOffline) announce(t("reconnected"));
      everConnected = true;
      save();
      if (!state.messages.length && !greeting) {
        greeting = true;
        replyStarted = false;
        startWaiting();
        emitMessage(GREETING_PAYLOAD);
      } else if (pending) {
        stopWaiting(); // the reply was lost with the old connection
      }
    });
    socket.on("bot_uttered", function (data) {
      if (data && typeof data === "object") addBotMessage(data);
    });
    function lost() {
      connected = false;
      offline = true;
      if (pending) stopWaiting();
      if (greeting && !state.messages.length) greeting = false;
      setStatus("offline");
    }
    socket.on("connect_error", lost);
    socket.on("disconnect", function (reason) {
      lost();
      if (reason === "io server disconnect") socket.connect();
    });
  }

  function disconnect() {
    if (!socket) return;
    socket.off();
    socket.disconnect();
    socket = null;
    connected = false;
  }

  // -- opening and closing --
  function open() {
    dialog.hidden = false;
    root.classList.add("apt-chat-open");
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    save();
    connect();
    showLatest();
    input.focus({ preventScroll: true });
  }

  function close() {
    dialog.hidden = true;
    root.classList.remove("apt-chat-open");
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    launcher.focus();
  }

  function clear() {
    disconnect();
    stopWaiting();
    greeting = false;
    state = { token: null, lang: state.lang, open: true, messages: [] };
    showNote(null);
    save();
    renderAll();
    announce(t("cleared"));
    connect();
    input.focus({ preventScroll: true });
  }

  // -- events --
  launcher.addEventListener("click", function () { if (dialog.hidden) open(); else close(); });
  closeButton.addEventListener("click", close);
  clearButton.addEventListener("click", clear);
  menuButton.addEventListener("click", function () { sendMessage(t("menu"), MENU_PAYLOAD); });
  languageSelect.addEventListener("change", function () {
    if (!TEXTS[languageSelect.value]) return;
    state.lang = languageSelect.value;
    save();
    applyTexts();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    if (!connected) { notSent(); return; }
    input.value = "";
    sendMessage(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !dialog.hidden) {
      event.preventDefault();
      close();
    }
  });
  // The transcript, message by message: arrow keys move between messages.
  log.addEventListener("keydown", function (event) {
    var keys = ["ArrowDown", "ArrowUp", "Home", "End"];
    if (keys.indexOf(event.key) === -1) return;
    var target = event.target;
    if (target !== log && !(target.classList && target.classList.contains("apt-chat-message"))) return;
    var items = Array.prototype.slice.call(list.children);
    if (!items.length) return;
    var current = items.indexOf(target);
    var next;
    if (event.key === "Home") next = 0;
    else if (event.key === "End") next = items.length - 1;
    else if (current === -1) next = event.key === "ArrowDown" ? 0 : items.length - 1;
    else next = Math.max(0, Math.min(items.length - 1, current + (event.key === "ArrowDown" ? 1 : -1)));
    event.preventDefault();
    items[next].focus({ preventScroll: true });
    reveal(items[next], "nearest");
  });

  applyTexts();
  renderAll();
  if (state.open) {
    dialog.hidden = false;
    root.classList.add("apt-chat-open");
    launcher.setAttribute("aria-expanded", "true");
    connect();
    showLatest(); // a reload opens where the visitor was: at the newest message
  }
  if (options.clearButton) options.clearButton.addEventListener("click", function () { clear(); close(); });
  return { open: open, close: close, clear: clear };
}

window.AptChat = { start: start, renderMarkdown: renderMarkdown };
