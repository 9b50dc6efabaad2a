/* The notifications page: register the service worker, subscribe with the portal's VAPID key, and unsubscribe.
   Progressive enhancement: without this script, or without push support, the page says so in plain text. */
"use strict";

(function () {
  const form = document.querySelector("[data-push-form]");
  const status = document.querySelector("[data-push-status]");
  const unavailable = document.querySelector("[data-push-unavailable]");
  if (!form || !status) {
    return;
  }
  const subscribeButton = form.querySelector("[data-push-subscribe]");
  const unsubscribeButton = form.querySelector("[data-push-unsubscribe]");
  const TOPICS_KEY = "stadtfunk-push-topics";

  function say(text) {
    status.textContent = text;
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  if (!supported()) {
    unavailable.textContent =
      "Ihr Browser unterstützt keine Push-Benachrichtigungen. Alle Meldungen finden Sie weiterhin auf der Startseite und in den Themenbereichen.";
    return;
  }
  unavailable.hidden = true;
  form.hidden = false;

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(padded);
    return Uint8Array.from(raw, (character) => character.charCodeAt(0));
  }

  function chosenTopics() {
    return Array.from(form.querySelectorAll('input[name="topics"]:checked'), (box) => box.value);
  }

  function showChosen(topics) {
    form.querySelectorAll('input[name="topics"]').forEach((box) => {
      box.checked = topics.includes(box.value);
    });
  }

  function showState(subscription) {
    // "ausschalten" only where there is something to switch off.
    unsubscribeButton.hidden = !subscription;
    if (subscription) {
      subscribeButton.textContent = "Themenbereiche speichern";
    } else {
      subscribeButton.textContent = "Benachrichtigungen einschalten";
    }
  }

  // The browser's own errors are English and technical; say what they mean.
  const BROWSER_REASONS = {
    NotAllowedError: "Ihr Browser hat das Abonnieren nicht erlaubt.",
    AbortError: "Der Push-Dienst Ihres Browsers ist nicht erreichbar.",
    InvalidStateError: "Der Dienst für Benachrichtigungen ist in diesem Browser nicht bereit.",
  };

  function reason(error) {
    return BROWSER_REASONS[error.name] || error.message;
  }

  async function send(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": form.querySelector('input[name="csrfmiddlewaretoken"]').value,
      },
      body: JSON.stringify(body),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      answer = {};
    }
    if (!response.ok) {
      throw new Error(answer.error || "Der Server hat die Anfrage abgelehnt (" + response.status + ").");
    }
    return answer;
  }

  const ready = navigator.serviceWorker
    .register(form.dataset.serviceWorkerUrl, { scope: "/" })
    .then(() => navigator.serviceWorker.ready);

  ready
    .then((registration) => registration.pushManager.getSubscription())
    .then((subscription) => {
      showState(subscription);
      if (subscription) {
        showChosen(JSON.parse(localStorage.getItem(TOPICS_KEY) || "[]"));
        say("Benachrichtigungen sind in diesem Browser eingeschaltet.");
      }
    })
    .catch(() => {
      say("Der Dienst für Benachrichtigungen ließ sich in diesem Browser nicht starten.");
      subscribeButton.hidden = true;
      unsubscribeButton.hidden = true;
    });

  subscribeButton.addEventListener("click", async () => {
    const topics = chosenTopics();
    if (topics.length === 0) {
      say("Bitte mindestens einen Themenbereich wählen.");
      return;
    }
    say("Benachrichtigungen werden eingeschaltet …");
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say("Ihr Browser erlaubt dieser Seite keine Benachrichtigungen. Sie können das in den Einstellungen der Website ändern.");
        return;
      }
      const registration = await ready;
      const subscription =
        (await registration.pushManager.getSubscription()) ||
        (await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(form.dataset.applicationServerKey),
        }));
      const answer = await send(form.dataset.subscribeUrl, { subscription: subscription.toJSON(), topics: topics });
      localStorage.setItem(TOPICS_KEY, JSON.stringify(topics));
      showState(subscription);
      say(answer.message);
    } catch (error) {
      say("Das Einschalten hat nicht geklappt. " + reason(error));
    }
  });

  unsubscribeButton.addEventListener("click", async () => {
    say("Benachrichtigungen werden ausgeschaltet …");
    try {
      const registration = await ready;
      const subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        const answer = await send(form.dataset.unsubscribeUrl, subscription.toJSON());
        await subscription.unsubscribe();
        say(answer.message);
      } else {
        say("Benachrichtigungen waren nicht eingeschaltet.");
      }
      localStorage.removeItem(TOPICS_KEY);
      showChosen([]);
      showState(null);
    } catch (error) {
      say("Das Ausschalten hat nicht geklappt. " + reason(error));
    }
  });
})();
