// Applies each `action/display` event the moment it arrives over SSE (no polling, no animation
// frame wait): the DOM write happens inside the message handler. The assistant's state shows
// under the face: "listening" from a speech start to its end (`inference/vad/+`), "speaking"
// while the TTS actuator plays (`action/speaking`), and the answer as it streams
// (`agent/+/answer`: sentences with final false, then the whole text with final true).

(() => {
  const $ = (id) => document.getElementById(id);
  const label = $('label');
  const wrap = $('confidence-wrap');
  const bar = $('bar');
  const fill = $('fill');
  const pct = $('confidence');
  const text = $('text');
  const conn = $('conn');
  const assistant = $('assistant');
  const answer = $('answer');
  const ANSWER_SHOWN_MS = 15000; // how long a complete answer stays on screen
  let answerOf = ''; // the conversation whose answer is on screen
  let answerTimer;
  const listening = new Set(); // microphones in a speech segment now
  let speaking = 0; // speak runs between their start and end

  function showAssistant() {
    const state = speaking > 0 ? 'speaking' : listening.size > 0 ? 'listening' : 'idle';
    document.body.dataset.assistant = state;
    assistant.hidden = state === 'idle';
    assistant.textContent = state === 'speaking' ? 'speaking…' : state === 'listening' ? 'listening…' : '';
    assistant.setAttribute('aria-label', `assistant: ${state}`);
  }

  function onAnswer(p) {
    if (typeof p.text !== 'string') return;
    clearTimeout(answerTimer);
    if (p.final === true) {
      answer.textContent = p.text;
      answerTimer = setTimeout(() => {
        answer.hidden = true;
        answer.textContent = '';
        answerOf = '';
      }, ANSWER_SHOWN_MS);
    } else {
      // A new answer replaces the last one; a sentence of the same answer is added to it.
      const same = answerOf === p.conversationId && answer.textContent !== '' && !answer.dataset.final;
      answer.textContent = same ? `${answer.textContent} ${p.text}` : p.text;
    }
    answerOf = p.conversationId ?? '';
    answer.dataset.final = p.final === true ? 'true' : '';
    answer.hidden = false;
  }

  function onAssistant(ev) {
    const p = ev.payload ?? {};
    if (ev.topic === 'action/speaking') {
      speaking = Math.max(0, speaking + (p.state === 'start' ? 1 : -1));
    } else if (p.kind === 'start') {
      listening.add(ev.topic);
    } else {
      listening.delete(ev.topic);
    }
    showAssistant();
  }

  // Each emotion's features as SVG path data on the 200×200 face (eyes, brows, mouth); `open`
  // fills the mouth. Drawn, so the page needs no emoji font (the action's emoji is kept only as
  // the accessible name's hint).
  const EYE = (cx, ry) => `M${cx} ${80 - ry}a9 ${ry} 0 1 0 0.01 0z`; // an ellipse centred at (cx, 80)
  const CLOSED = (cx) => `M${cx - 12} 80q12 8 24 0`;
  const FACES = {
    neutral: {
      eyes: [EYE(70, 12), EYE(130, 12)],
      brows: ['M55 52l30 0', 'M115 52l30 0'],
      mouth: 'M68 140l64 0',
    },
    happy: {
      eyes: [EYE(70, 12), EYE(130, 12)],
      brows: ['M55 50q15-10 30 0', 'M115 50q15-10 30 0'],
      mouth: 'M55 122q45 55 90 0z',
      open: true,
    },
    sad: {
      eyes: [EYE(70, 10), EYE(130, 10)],
      brows: ['M55 58q15-4 30-14', 'M115 44q15 10 30 14'],
      mouth: 'M62 155q38-38 76 0',
    },
    angry: {
      eyes: [EYE(70, 9), EYE(130, 9)],
      brows: ['M52 44l36 18', 'M112 62l36-18'],
      mouth: 'M65 152q35-20 70 0',
    },
    fearful: {
      eyes: [EYE(70, 15), EYE(130, 15)],
      brows: ['M55 44q15-12 30-4', 'M115 40q15-8 30 4'],
      mouth: 'M66 150q8-16 17 0t17 0t17 0t17 0',
    },
    disgusted: {
      eyes: [CLOSED(70), CLOSED(130)],
      brows: ['M52 56l36-6', 'M112 50l36 8'],
      mouth: 'M62 146q12-14 26-2t24 4t26-10',
    },
    surprised: {
      eyes: [EYE(70, 16), EYE(130, 16)],
      brows: ['M55 36q15-12 30 0', 'M115 36q15-12 30 0'],
      mouth: 'M100 128a18 22 0 1 0 0.01 0z',
      open: true,
    },
    no_face: { eyes: [CLOSED(70), CLOSED(130)], brows: ['', ''], mouth: 'M80 145l40 0' },
  };
  const face = $('face');
  const parts = ['eye-l', 'eye-r', 'brow-l', 'brow-r', 'mouth'].map($);

  function drawFace(emotion) {
    const f = FACES[emotion] ?? FACES.neutral;
    const d = [f.eyes[0], f.eyes[1], f.brows[0], f.brows[1], f.mouth];
    for (let i = 0; i < parts.length; i++) parts[i].setAttribute('d', d[i]);
    parts[4].classList.toggle('open', f.open === true);
    face.setAttribute('aria-label', `face: ${emotion.replace(/_/g, ' ')}`);
  }

  function apply(ev) {
    const a = ev.payload ?? {};
    const emotion = typeof a.emotion === 'string' ? a.emotion : 'no_face';
    const noFace = emotion === 'no_face';
    document.body.dataset.emotion = emotion;
    drawFace(emotion);
    label.textContent = noFace ? 'No face' : emotion.replace(/_/g, ' ');
    const c = Math.round(Math.max(0, Math.min(1, Number(a.confidence) || 0)) * 100);
    wrap.hidden = noFace;
    fill.style.width = `${c}%`;
    bar.setAttribute('aria-valuenow', String(c));
    pct.textContent = `${c}%`;
    text.textContent = typeof a.text === 'string' ? a.text : '';
    // For the kiosk test and for debugging: what was shown last, and when (wall clock, ms).
    window.edgeloomDisplay = { id: ev.id, emotion, confidence: c / 100, appliedAtMs: Date.now() };
  }

  drawFace('no_face');
  showAssistant();
  const onEvent = (ev) =>
    ev.topic === 'action/display'
      ? apply(ev)
      : ev.topic.startsWith('agent/')
        ? onAnswer(ev.payload ?? {})
        : onAssistant(ev);
  const topics = ['action/display', 'inference/vad/+', 'action/speaking', 'agent/+/answer'];
  edgeloom.events(topics, onEvent, (state, dropped) => {
    if (state === 'open') {
      conn.textContent = 'connected';
      conn.className = 'conn ok';
    } else if (state === 'reconnecting') {
      // The daemon went away mid-sentence, perhaps: its end events will not come.
      listening.clear();
      speaking = 0;
      showAssistant();
      conn.textContent = 'reconnecting…';
      conn.className = 'conn';
    } else if (state === 'dropped') {
      conn.textContent = `skipped ${dropped} updates`;
    }
  });
})();
