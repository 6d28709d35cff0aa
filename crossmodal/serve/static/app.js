/* crossmodal serve: the search page (index.html) and the API page (docs.html).
 *
 * Plain JavaScript, no build step, nothing from another site. Every text that comes from the
 * store (file names, passages, transcripts) is set with textContent, never as HTML. */
(function () {
  "use strict";

  const PAGE = 60; // results on one page
  const MAX_K = 10000; // the server's most results for one query (offset + k)
  const RECOMMEND_K = 12;
  const MAX_UPLOAD = 36 * 1024 * 1024; // the server takes 48 MB of JSON: base64 adds a third
  const PROFILE_KEY = "crossmodal.profile";
  const TOKEN_KEY = "crossmodal.token";
  const FILTER_KEYS = ["type", "under", "after", "before"];
  const KINDS = { image: "picture", text: "document", audio: "sound", video: "video" };
  const FILE_KINDS = {
    image: /\.(jpe?g|png|gif|webp|bmp|tiff?|heic|heif|avif|dng)$/i,
    audio: /\.(wav|mp3|flac|oga|ogg|opus|m4a|aac|amr|wma)$/i,
    video: /\.(mp4|m4v|mov|mkv|webm|avi)$/i,
  };

  // -- small helpers ------------------------------------------------------------------------
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  /* An element: attrs are attributes (className, text and dataset have their own meaning);
   * children are nodes or strings (text nodes). No style attribute, no handler attribute. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") {
        for (const [name, data] of Object.entries(value)) if (data !== undefined) node.dataset[name] = data;
      }
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function baseName(path) {
    const text = String(path || "");
    const cut = text.replace(/[\\/]+$/, "");
    return cut.slice(Math.max(cut.lastIndexOf("/"), cut.lastIndexOf("\\")) + 1) || text;
  }

  function folderOf(path) {
    const text = String(path || "");
    const at = Math.max(text.lastIndexOf("/"), text.lastIndexOf("\\"));
    return at > 0 ? text.slice(0, at) : "";
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(Number(seconds) || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function duration(seconds) {
    const s = Number(seconds) || 0;
    if (s < 10) return `${s.toFixed(1)} s`;
    return s < 60 ? `${Math.round(s)} s` : clock(s);
  }

  function nextDay(day) {
    // "To" is inclusive: the server's `before` is the start of the next day.
    const when = new Date(`${day}T00:00:00Z`);
    if (Number.isNaN(when.getTime())) return day;
    return new Date(when.getTime() + 86400000).toISOString().slice(0, 10);
  }

  // -- the token and the API ----------------------------------------------------------------
  let token = null;
  try {
    const params = new URLSearchParams(location.search);
    token = params.get("token") || sessionStorage.getItem(TOKEN_KEY);
    if (params.has("token")) {
      // The server has set its cookie for this page's own requests (thumbnails, players);
      // the token is kept for this tab only, and taken out of the address bar.
      sessionStorage.setItem(TOKEN_KEY, token);
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
    }
  } catch (ignored) {
    // storage disabled: the cookie still carries the token
  }

  async function api(path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, {
        method: body === undefined ? "GET" : "POST",
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      throw new Error(`cannot reach the server (${error.message})`);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (ignored) {
      data = null;
    }
    if (!response.ok || (data && typeof data.error === "string")) {
      const message = data && data.error ? data.error : `${response.status} ${response.statusText}`;
      throw new Error(message);
    }
    return data;
  }

  function status(text, kind) {
    const line = $("#status");
    if (!line) return;
    line.textContent = text || "";
    line.className = `status${kind ? ` ${kind}` : ""}`;
  }

  function failed(prefix, error) {
    status(`${prefix}: ${error && error.message ? error.message : error}`, "error");
  }

  // =========================================================================================
  // The search page
  // =========================================================================================
  function searchPage() {
    const box = $("#q");
    const grid = $("#results");
    const shelf = $("#recommendations");
    const cardData = new WeakMap(); // card element -> its result
    const state = { request: null, offset: 0, more: false, seq: 0, label: "" };
    let profile = loadProfile();
    let recommendSeq = 0;
    let previewUrl = null;

    // -- the query ----------------------------------------------------------------------------
    function filters() {
      const chosen = { type: $("#type").value || "all" };
      const under = $("#under").value.trim();
      if (under) chosen.under = under;
      if ($("#after").value) chosen.after = $("#after").value;
      if ($("#before").value) chosen.before = nextDay($("#before").value);
      return chosen;
    }

    function withFilters(request) {
      const bare = {};
      for (const [key, value] of Object.entries(request)) {
        if (!FILTER_KEYS.includes(key)) bare[key] = value;
      }
      return Object.assign(bare, filters());
    }

    async function search(request, offset, label) {
      state.request = request;
      state.offset = offset || 0;
      if (label !== undefined) state.label = label;
      const seq = ++state.seq;
      const k = Math.min(PAGE, MAX_K - state.offset);
      const started = performance.now();
      status("Searching…", "busy");
      grid.setAttribute("aria-busy", "true");
      try {
        const answer = await api("/search", Object.assign({}, request, { k, offset: state.offset }));
        if (seq !== state.seq) return; // a newer search has been asked for
        showPage(answer, (performance.now() - started) / 1000);
      } catch (error) {
        if (seq === state.seq) failed("Search failed", error);
      } finally {
        if (seq === state.seq) grid.removeAttribute("aria-busy");
      }
    }

    function rerun() {
      if (state.request) search(withFilters(state.request), 0);
    }

    function searchText() {
      const text = box.value.trim();
      if (text) {
        clearPreview();
        search(withFilters({ text }), 0, "");
      } else if (state.request) {
        rerun();
      } else {
        status("Type a few words to search for, or drop a picture or a sound on the page.");
        box.focus();
      }
    }

    function moreLike(result) {
      if (!result) return;
      const request = {};
      if (result.modality === "text") {
        const words = (result.passage && result.passage.text) || (result.meta && result.meta.snippet);
        if (!words) {
          status(`${baseName(result.path)} has no text to search with`, "error");
          return;
        }
        request.text = words.slice(0, 1000);
      } else {
        request[result.modality] = result.id; // image, audio or video: the indexed item's id
      }
      box.value = "";
      clearPreview();
      search(withFilters(request), 0, `More like ${baseName(result.path)}`);
    }

    // -- searching by a file ------------------------------------------------------------------
    function fileKind(file) {
      const major = (file.type || "").split("/")[0];
      if (major === "image" || major === "audio" || major === "video") return major;
      for (const [kind, pattern] of Object.entries(FILE_KINDS)) {
        if (pattern.test(file.name)) return kind;
      }
      return null;
    }

    function readBase64(file) {
      return new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => {
          const url = String(reader.result);
          resolve(url.slice(url.indexOf(",") + 1));
        };
        reader.onerror = () => reject(reader.error || new Error("cannot read the file"));
        reader.readAsDataURL(file);
      });
    }

    function clearPreview() {
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = null;
      $("#query-preview").replaceChildren();
    }

    function showPreview(file, kind) {
      clearPreview();
      previewUrl = URL.createObjectURL(file);
      let node;
      if (kind === "image") node = el("img", { src: previewUrl, alt: file.name });
      else if (kind === "audio") node = el("audio", { src: previewUrl, controls: true, preload: "metadata" });
      else node = el("video", { src: previewUrl, muted: true, preload: "metadata" });
      node.addEventListener("error", () => node.remove(), { once: true }); // e.g. HEIC
      $("#query-preview").append(node);
    }

    async function searchFile(file) {
      if (!file) return;
      const kind = fileKind(file);
      if (!kind) {
        status(`${file.name} is not a picture, a sound or a video`, "error");
        return;
      }
      if (file.size > MAX_UPLOAD) {
        status(`${file.name} is too large to search by (over 36 MB)`, "error");
        return;
      }
      if (file.size === 0) {
        status(`${file.name} is empty`, "error");
        return;
      }
      status(`Reading ${file.name}…`, "busy");
      let data;
      try {
        data = await readBase64(file);
      } catch (error) {
        failed(`Cannot read ${file.name}`, error);
        return;
      }
      box.value = "";
      showPreview(file, kind);
      search(withFilters({ upload: { data, name: file.name } }), 0, `Like your ${KINDS[kind]} ${file.name}`);
    }

    // -- the results --------------------------------------------------------------------------
    function describe(query) {
      if (state.label) return state.label;
      const parts = (query && query.parts) || [];
      const named = parts.map((part) =>
        part.modality === "text" ? `“${part.value}”` : `${KINDS[part.modality] || part.modality} ${baseName(part.value)}`
      );
      return named.length ? `Results for ${named.join(" + ")}` : "Results";
    }

    function showPage(answer, seconds) {
      const results = answer.results || [];
      state.more = Boolean(answer.more);
      state.offset = answer.offset || 0;
      const cards = results.map((result) => card(result, false));
      grid.replaceChildren(...cards);
      const parts = (answer.query && answer.query.parts) || [];
      grid.dataset.query = parts.map((part) => part.modality).join(",");
      $("#welcome").hidden = true;
      $("#query-bar").hidden = false;
      const types = (answer.query && answer.query.types) || [];
      const only = types.length && types.length < 4 ? ` · ${types.map((t) => `${KINDS[t] || t}s`).join(", ")} only` : "";
      $("#query-title").textContent = describe(answer.query) + only;
      const first = state.offset + 1;
      const last = state.offset + results.length;
      const range = results.length ? `results ${first}-${last}` : state.offset ? "no more results" : "no results";
      for (const pager of $$(".pager")) {
        pager.hidden = !results.length && !state.offset;
        $(".range", pager).textContent = range;
        $(".prev", pager).disabled = state.offset === 0;
        $(".next", pager).disabled = !state.more || last >= MAX_K;
      }
      const notes = (answer.notes || []).join(" ");
      const found = results.length ? `Found in ${seconds.toFixed(2)} s` : state.offset ? "No more results" : "Nothing found";
      status(`${found}${notes ? ` · ${notes}` : ""}`);
      refreshMarks();
    }

    function page(step) {
      if (!state.request) return;
      const offset = Math.max(0, state.offset + step * PAGE);
      if (step > 0 && !state.more) return;
      search(state.request, offset).then(() => {
        const top = $("#main");
        if (top && top.getBoundingClientRect().top < 0) top.scrollIntoView({ block: "start" });
      });
    }

    function thumbUrl(result, size) {
      const at = typeof result.start === "number" ? `&t=${result.start}` : "";
      return `/thumb/${result.id}?size=${size}${at}`;
    }

    function mediaUrl(result) {
      return `/media/${result.id}${typeof result.start === "number" ? `#t=${result.start}` : ""}`;
    }

    function picture(result, size) {
      const img = el("img", { src: thumbUrl(result, size), loading: "lazy", decoding: "async", alt: baseName(result.path) });
      img.addEventListener("error", () => img.replaceWith(el("span", { className: "no-preview", text: "no preview" })), { once: true });
      return img;
    }

    function visual(result, compact) {
      const meta = result.meta || {};
      const passage = result.passage || {};
      if (result.modality === "image") {
        return el("div", { className: "visual" }, picture(result, compact ? 128 : 256));
      }
      if (result.modality === "video") {
        const play = el("button", { type: "button", className: "play", "aria-label": `Play ${baseName(result.path)}` }, "▶");
        return el("div", { className: "visual" }, picture(result, compact ? 128 : 256), play);
      }
      if (result.modality === "audio") {
        const words = passage.text || meta.transcript || "";
        return el(
          "div",
          { className: "visual sound" },
          el("audio", { controls: true, preload: "none", src: `/media/${result.id}` }),
          words ? el("p", { className: "words", text: words }) : null
        );
      }
      const words = passage.text || meta.snippet || "";
      return el("div", { className: "visual doc" }, el("p", { className: "words", text: words || "(no text)" }));
    }

    function becauseText(because) {
      const reasons = Array.isArray(because) ? because : [because];
      const named = [];
      const asked = [];
      for (const reason of reasons) {
        if (reason === null || reason === undefined || reason === "") continue;
        const text = typeof reason === "string" ? reason : reason.path || reason.label || JSON.stringify(reason);
        if (text.startsWith("prefer: ")) asked.push(`“${text.slice(8)}”`);
        else named.push(baseName(text));
      }
      const said = [];
      if (named.length) said.push(`because you liked ${named.join(", ")}`);
      if (asked.length) said.push(`because you asked for ${asked.join(", ")}`);
      return said.join("; ");
    }

    function card(result, compact) {
      const name = baseName(result.path);
      const kind = KINDS[result.modality] || result.modality;
      const score = typeof result.score === "number" ? result.score.toFixed(3) : "";
      const passage = result.passage || {};
      const meta = result.meta || {};
      const where = passage.where || (typeof result.start === "number" ? `${clock(result.start)}–${clock(result.end)}` : "");
      const date = (meta.exif_date || "").slice(0, 10);
      const length = typeof meta.duration === "number" && !where ? duration(meta.duration) : "";
      const node = el(
        "article",
        {
          className: `card ${result.modality}`,
          tabindex: "0",
          dataset: { id: String(result.id), modality: result.modality, start: typeof result.start === "number" ? String(result.start) : undefined },
          "aria-label": `${name}, ${kind}${score ? `, score ${score}` : ""}`,
        },
        visual(result, compact),
        el(
          "div",
          { className: "info" },
          el("a", { className: "name", href: mediaUrl(result), target: "_blank", rel: "noopener", title: `${result.path} (Enter opens it)`, text: name }),
          score ? el("span", { className: "score", title: "similarity", text: score }) : null
        ),
        el(
          "div",
          { className: "sub", title: folderOf(result.path) },
          el("span", { className: `kind ${result.modality}`, text: kind }),
          where ? el("span", { text: where }) : null,
          length ? el("span", { text: length }) : null,
          date ? el("span", { text: date }) : null
        ),
        result.because ? el("p", { className: "because", text: becauseText(result.because) }) : null,
        el(
          "div",
          { className: "actions" },
          el("button", { type: "button", className: "more", title: "More like this (m)" }, "More like this"),
          el("button", { type: "button", className: "like", "aria-pressed": "false", title: "Like (l)" }, "Like"),
          el("button", { type: "button", className: "dislike", "aria-pressed": "false", title: "Dislike (d)" }, "Dislike")
        )
      );
      cardData.set(node, result);
      return node;
    }

    function playVideo(cardNode) {
      const result = cardData.get(cardNode);
      const frame = $(".visual", cardNode);
      if (!result || !frame) return;
      const video = el("video", { controls: true, autoplay: true, preload: "metadata", src: mediaUrl(result), poster: thumbUrl(result, 256) });
      frame.replaceChildren(video);
      frame.classList.add("playing");
      cardNode.classList.add("playing");
      video.focus();
    }

    // -- likes, dislikes and recommendations --------------------------------------------------
    function loadProfile() {
      try {
        const saved = JSON.parse(sessionStorage.getItem(PROFILE_KEY) || "null");
        if (saved && Array.isArray(saved.like) && Array.isArray(saved.dislike)) return saved;
      } catch (ignored) {
        // a damaged or missing profile: start again
      }
      return { like: [], dislike: [] };
    }

    function saveProfile() {
      try {
        sessionStorage.setItem(PROFILE_KEY, JSON.stringify(profile));
      } catch (ignored) {
        // storage full or disabled: the profile lasts as long as the page
      }
    }

    function marked(id) {
      if (profile.like.some((entry) => entry.id === id)) return "like";
      if (profile.dislike.some((entry) => entry.id === id)) return "dislike";
      return null;
    }

    function toggle(kind, result) {
      if (!result) return;
      const was = marked(result.id);
      profile.like = profile.like.filter((entry) => entry.id !== result.id);
      profile.dislike = profile.dislike.filter((entry) => entry.id !== result.id);
      if (was !== kind) profile[kind].push({ id: result.id, path: result.path, modality: result.modality });
      saveProfile();
      refreshMarks();
      recommend();
    }

    function refreshMarks() {
      for (const node of $$(".card")) {
        const result = cardData.get(node);
        if (!result) continue;
        const mark = marked(result.id);
        node.classList.toggle("liked", mark === "like");
        node.classList.toggle("disliked", mark === "dislike");
        $(".like", node).setAttribute("aria-pressed", String(mark === "like"));
        $(".dislike", node).setAttribute("aria-pressed", String(mark === "dislike"));
      }
      const chips = [];
      for (const kind of ["like", "dislike"]) {
        for (const entry of profile[kind]) {
          chips.push(
            el(
              "button",
              { type: "button", className: `chip ${kind}`, dataset: { id: String(entry.id), kind }, title: `Forget this ${kind}`, "aria-label": `Forget ${kind} of ${baseName(entry.path)}` },
              `${kind === "like" ? "+" : "−"} ${baseName(entry.path)} ×`
            )
          );
        }
      }
      $("#profile").replaceChildren(...chips);
      $("#forget").hidden = !chips.length;
    }

    async function recommend() {
      const seq = ++recommendSeq;
      const hint = $("#recommend-hint");
      if (!profile.like.length) {
        shelf.replaceChildren();
        delete shelf.dataset.ids;
        hint.hidden = false;
        hint.textContent = profile.dislike.length
          ? "Dislikes say what to leave out: like something too to get recommendations."
          : "Like a few results (l) to see more of what you like here.";
        return;
      }
      hint.hidden = false;
      hint.textContent = "Updating…";
      try {
        const answer = await api("/recommend", {
          like: profile.like.map((entry) => entry.id),
          dislike: profile.dislike.map((entry) => entry.id),
          k: RECOMMEND_K,
        });
        if (seq !== recommendSeq) return;
        const results = answer.results || [];
        const hadFocus = shelf.contains(document.activeElement);
        shelf.replaceChildren(...results.map((result) => card(result, true)));
        if (hadFocus && shelf.firstElementChild) shelf.firstElementChild.focus(); // keep the keyboard here
        shelf.dataset.ids = results.map((result) => result.id).join(",");
        const liked = profile.like.length;
        hint.textContent = results.length
          ? `From ${liked} like${liked === 1 ? "" : "s"}${profile.dislike.length ? ` and ${profile.dislike.length} dislike${profile.dislike.length === 1 ? "" : "s"}` : ""}:`
          : "Nothing more to recommend yet.";
        refreshMarks();
      } catch (error) {
        if (seq !== recommendSeq) return;
        hint.textContent = "No recommendations: see the status line.";
        failed("Recommendations failed", error);
      }
    }

    // -- keyboard -----------------------------------------------------------------------------
    function move(from, key) {
      const cards = $$(":scope > .card", from.parentElement);
      const at = cards.indexOf(from);
      if (at < 0) return;
      const top = cards[0].offsetTop;
      const columns = Math.max(1, cards.filter((node) => node.offsetTop === top).length);
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, Home: -at, End: cards.length }[key];
      const to = cards[Math.min(cards.length - 1, Math.max(0, at + step))];
      if (to && to !== from) {
        to.focus();
        to.scrollIntoView({ block: "nearest" });
      }
    }

    function openMedia(result) {
      if (result) window.open(mediaUrl(result), "_blank", "noopener");
    }

    document.addEventListener("keydown", (event) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      const target = event.target instanceof Element ? event.target : document.body;
      const typing = target.closest("input, textarea, select, [contenteditable]");
      if (typing) {
        if (event.key === "Escape") target.blur();
        if (target === box && event.key === "ArrowDown" && grid.firstElementChild) {
          event.preventDefault();
          grid.firstElementChild.focus();
        }
        return;
      }
      if (event.key === "/") {
        event.preventDefault();
        box.focus();
        box.select();
        return;
      }
      const cardNode = target.closest(".card");
      const arrows = ["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp", "Home", "End"];
      if (!cardNode) {
        if (arrows.includes(event.key) && !target.closest("audio, video") && grid.firstElementChild) {
          event.preventDefault();
          grid.firstElementChild.focus();
        }
        return;
      }
      const result = cardData.get(cardNode);
      const onCard = target === cardNode;
      if (arrows.includes(event.key) && onCard) {
        event.preventDefault();
        move(cardNode, event.key);
      } else if (event.key === "Enter" && onCard) {
        event.preventDefault();
        openMedia(result);
      } else if (event.key === "l" || event.key === "L") {
        event.preventDefault();
        toggle("like", result);
      } else if (event.key === "d" || event.key === "D") {
        event.preventDefault();
        toggle("dislike", result);
      } else if (event.key === "m" || event.key === "M") {
        event.preventDefault();
        moreLike(result);
      }
    });

    // -- clicks, forms and drops --------------------------------------------------------------
    document.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (!target) return;
      const chip = target.closest(".chip");
      if (chip) {
        const id = Number(chip.dataset.id);
        profile[chip.dataset.kind] = profile[chip.dataset.kind].filter((entry) => entry.id !== id);
        saveProfile();
        refreshMarks();
        recommend();
        return;
      }
      const cardNode = target.closest(".card");
      if (!cardNode) return;
      const result = cardData.get(cardNode);
      if (target.closest(".more")) moreLike(result);
      else if (target.closest(".like")) toggle("like", result);
      else if (target.closest(".dislike")) toggle("dislike", result);
      else if (target.closest(".play")) playVideo(cardNode);
    });

    // One player at a time.
    document.addEventListener(
      "play",
      (event) => {
        for (const player of $$("audio, video")) if (player !== event.target && !player.paused) player.pause();
      },
      true
    );

    $("#search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      searchText();
    });
    for (const id of ["type", "after", "before"]) $(`#${id}`).addEventListener("change", rerun);
    $("#clear-filters").addEventListener("click", () => {
      $("#type").value = "all";
      for (const id of ["under", "after", "before"]) $(`#${id}`).value = "";
      rerun();
    });
    for (const pager of $$(".pager")) {
      $(".prev", pager).addEventListener("click", () => page(-1));
      $(".next", pager).addEventListener("click", () => page(1));
    }
    $("#file").addEventListener("change", (event) => {
      const input = event.target;
      const file = input.files && input.files[0];
      input.value = "";
      searchFile(file);
    });
    $("#forget").addEventListener("click", () => {
      profile = { like: [], dislike: [] };
      saveProfile();
      refreshMarks();
      recommend();
    });

    const zone = $("#drop-zone");
    let dragging = 0;
    const hasFiles = (event) => Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types || []).includes("Files");
    document.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dragging += 1;
      zone.hidden = false;
    });
    document.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("dragleave", (event) => {
      if (!hasFiles(event)) return;
      dragging = Math.max(0, dragging - 1);
      if (!dragging) zone.hidden = true;
    });
    document.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dragging = 0;
      zone.hidden = true;
      searchFile(event.dataTransfer.files[0]);
    });

    // -- start --------------------------------------------------------------------------------
    api("/stats")
      .then((stats) => {
        const items = stats.items || {};
        const total = Object.values(items).reduce((sum, n) => sum + n, 0);
        const parts = Object.entries(items).map(([kind, n]) => `${n} ${KINDS[kind] || kind}${n === 1 ? "" : "s"}`);
        $("#stats").textContent = `${total.toLocaleString()} items${parts.length ? `: ${parts.join(", ")}` : ""}`;
      })
      .catch((error) => failed("Cannot read the store", error));
    refreshMarks();
    recommend();
  }

  // =========================================================================================
  // The API page: /openapi.json as readable HTML
  // =========================================================================================
  function withCode(text) {
    // `backticks` as <code>, everything else as text
    return String(text || "")
      .split("`")
      .map((piece, at) => (at % 2 ? el("code", { text: piece }) : document.createTextNode(piece)));
  }

  function refName(ref) {
    return String(ref).split("/").pop();
  }

  function schemaNode(schema) {
    if (!schema || typeof schema !== "object") return document.createTextNode("any");
    if (schema.$ref) {
      const name = refName(schema.$ref);
      return el("a", { href: `#schema-${name}` }, name);
    }
    const choices = schema.oneOf || schema.anyOf;
    if (choices) {
      const span = el("span");
      choices.forEach((choice, at) => {
        if (at) span.append(" | ");
        span.append(schemaNode(choice));
      });
      return span;
    }
    if (schema.enum) return el("code", { text: schema.enum.map((value) => JSON.stringify(value)).join(" | ") });
    if (schema.type === "array") {
      const items = schema.items || {};
      const several = Boolean(items.oneOf || items.anyOf);
      return el("span", {}, "array of ", several ? "(" : "", schemaNode(items), several ? ")" : "");
    }
    return el("code", { text: schema.type || "any" });
  }

  function schemaNotes(schema, required) {
    const notes = [];
    if (required) notes.push("required");
    if (!schema) return notes.join("; ");
    if (schema.default !== undefined) notes.push(`default ${JSON.stringify(schema.default)}`);
    if (schema.minimum !== undefined) notes.push(`at least ${schema.minimum}`);
    if (schema.maximum !== undefined) notes.push(`at most ${schema.maximum}`);
    if (schema.contentEncoding) notes.push(schema.contentEncoding);
    if (schema.description) notes.push(schema.description);
    return notes.join("; ");
  }

  function table(headings, rows) {
    return el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ...headings.map((heading) => el("th", { scope: "col", text: heading })))),
      el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", {}, cell)))))
    );
  }

  function propertiesTable(schema) {
    const required = new Set(schema.required || []);
    const rows = Object.entries(schema.properties || {}).map(([name, property]) => [
      el("code", { text: name }),
      schemaNode(property),
      document.createTextNode(schemaNotes(property, required.has(name))),
    ]);
    return rows.length ? table(["field", "type", "notes"], rows) : el("p", { text: "any JSON object" });
  }

  function operation(spec, path, method, op) {
    const id = `op-${method}-${path.replace(/[^a-z0-9]+/gi, "-")}`;
    const section = el(
      "section",
      { className: "operation", id },
      el("h3", {}, el("span", { className: `method ${method}`, text: method.toUpperCase() }), " ", el("code", { className: "path", text: path })),
      op.summary ? el("p", {}, ...withCode(op.summary)) : null,
      op.description ? el("p", {}, ...withCode(op.description)) : null
    );
    if (op.parameters && op.parameters.length) {
      section.append(
        el("h4", { text: "Parameters" }),
        table(
          ["name", "in", "type", "notes"],
          op.parameters.map((param) => [
            el("code", { text: param.name }),
            document.createTextNode(param.in),
            schemaNode(param.schema),
            document.createTextNode(schemaNotes(Object.assign({}, param.schema, { description: param.description }), param.required)),
          ])
        )
      );
    }
    const body = op.requestBody && op.requestBody.content;
    if (body) {
      for (const [type, content] of Object.entries(body)) {
        section.append(el("h4", {}, "Request body ", el("code", { text: type }), ": ", schemaNode(content.schema)));
        const ref = content.schema && content.schema.$ref;
        const schema = ref ? ((spec.components || {}).schemas || {})[refName(ref)] : content.schema;
        if (schema) section.append(propertiesTable(schema));
        if (content.example !== undefined) {
          const json = JSON.stringify(content.example);
          section.append(
            el("p", { className: "example-title", text: "Example" }),
            el("pre", {}, el("code", { text: JSON.stringify(content.example, null, 2) })),
            el("pre", { className: "curl" }, el("code", { text: `curl -H 'Content-Type: application/json' -d '${json}' ${location.origin}${path}` }))
          );
        }
      }
    }
    const responses = Object.entries(op.responses || {});
    if (responses.length) {
      section.append(
        el("h4", { text: "Responses" }),
        table(
          ["status", "meaning", "body"],
          responses.map(([code, answer]) => {
            const content = answer.content || {};
            const first = Object.entries(content)[0];
            return [
              el("code", { text: code }),
              el("span", {}, ...withCode(answer.description || "")),
              first ? el("span", {}, el("code", { text: first[0] }), " ", schemaNode(first[1].schema)) : document.createTextNode(""),
            ];
          })
        )
      );
    }
    return { section, id };
  }

  async function docsPage() {
    const root = $("#docs");
    status("Reading /openapi.json…", "busy");
    let spec;
    try {
      spec = await api("/openapi.json");
    } catch (error) {
      failed("Cannot read the API description", error);
      return;
    }
    const info = spec.info || {};
    document.title = `${info.title || "API"}: API`;
    const toc = el("ul", { className: "toc" });
    const operations = el("div", { className: "operations" });
    for (const [path, methods] of Object.entries(spec.paths || {})) {
      for (const [method, op] of Object.entries(methods)) {
        const made = operation(spec, path, method, op);
        operations.append(made.section);
        toc.append(
          el("li", {}, el("a", { href: `#${made.id}` }, el("span", { className: `method ${method}`, text: method.toUpperCase() }), " ", el("code", { text: path })), op.summary ? ` ${op.summary}` : "")
        );
      }
    }
    const schemas = el("div", { className: "schemas" });
    for (const [name, schema] of Object.entries((spec.components || {}).schemas || {})) {
      schemas.append(
        el(
          "section",
          { className: "schema", id: `schema-${name}` },
          el("h3", {}, el("code", { text: name })),
          schema.description ? el("p", {}, ...withCode(schema.description)) : null,
          schema.properties ? propertiesTable(schema) : el("p", {}, schemaNode(schema))
        )
      );
    }
    root.replaceChildren(
      el("h1", {}, info.title || "API", info.version ? el("span", { className: "version", text: ` version ${info.version}` }) : null),
      el("p", { className: "lead" }, ...withCode(info.description)),
      el("p", {}, "OpenAPI ", el("code", { text: spec.openapi || "?" }), ": the machine-readable form is ", el("a", { href: "/openapi.json" }, el("code", { text: "/openapi.json" })), "."),
      el("h2", { text: "Endpoints" }),
      toc,
      operations,
      el("h2", { text: "Schemas" }),
      schemas
    );
    status("");
    if (location.hash) {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
  }

  function start() {
    if (document.body.dataset.page === "docs") docsPage();
    else searchPage();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
