// The deltaprop playground page: settings in, server-sent frames out. Plain JavaScript, no build step.
// Training happens in the server (deltaprop itself); this file only asks and draws.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const FEATURES = {x1: "x₁", x2: "x₂", "x1^2": "x₁²", "x2^2": "x₂²", x1x2: "x₁x₂", sin_x1: "sin x₁", sin_x2: "sin x₂"};
  const TOYS = ["circle", "xor", "gaussians", "spiral"];
  const CLASS_COLOURS = [[230, 130, 30], [31, 119, 180], [44, 160, 44], [148, 103, 189]];
  const WHITE = [255, 255, 255];

  // what the tests (and a curious learner's console) can read
  const pg = window.playground = {
    runId: null, info: null, frame: null, rows: [], findings: [], state: "starting", epoch: 0,
    selected: null, explanation: null, renders: 0, fps: 0, drawnAt: [],
  };

  // ------------------------------------------------------------------ talking to the server
  async function api(path, body, method) {
    const options = {method: method || (body === undefined ? "GET" : "POST"), headers: {}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function showError(message) {
    const box = $("error");
    box.hidden = !message;
    box.textContent = message || "";
  }

  let source = null;
  async function startRun(settings) {
    const created = await api("/api/runs", {settings: settings, speed: Number($("speed").value)});
    pg.runId = created.id;
    $("download-model").href = `/api/runs/${created.id}/model`;
    $("download-script").href = `/api/runs/${created.id}/script`;
    connect();
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(`/api/runs/${pg.runId}/events`);
    source.addEventListener("run", (event) => onRun(JSON.parse(event.data)));
    source.addEventListener("frame", (event) => onFrame(JSON.parse(event.data)));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {       // the run is gone (server restarted): a new one
        showError("The run ended on the server; a new one was started with the same settings.");
        startRun(readSettings()).catch((error) => showError(error.message));
      }
    };
  }

  async function control(action) {
    try {
      const reply = await api(`/api/runs/${pg.runId}/control`, action ? {action: action} : {speed: Number($("speed").value)});
      pg.state = reply.state;
      drawStatus();
    } catch (error) { showError(error.message); }
  }

  let settingsTimer = null;
  function settingsChanged() {
    clearTimeout(settingsTimer);
    settingsTimer = setTimeout(applySettings, 200);
  }

  async function applySettings(changes) {
    let settings;
    try {
      settings = Object.assign(readSettings(), changes || {});
    } catch (error) { showError(error.message); return; }
    if (pg.info && sameSettings(settings, pg.info.settings)) return;     // a change event without a change
    try {
      await api(`/api/runs/${pg.runId}/settings`, {settings: settings});
      showError("");
    } catch (error) { showError(error.message); }
  }

  // ------------------------------------------------------------------ the settings form
  function sameSettings(a, b) {
    return Object.keys(b).every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
  }

  function readSettings() {
    const hidden = $("hidden").value.split(/[\s,]+/).filter((part) => part !== "").map((part) => {
      const units = Number(part);
      if (!Number.isInteger(units)) throw new Error(`Units per layer must be whole numbers, got "${part}"`);
      return units;
    });
    const columnOne = $("column-1").value;
    const isTable = !TOYS.includes($("dataset").value);
    return {
      dataset: $("dataset").value, noise: Number($("noise").value), points: Number($("points").value),
      train_fraction: Number($("train_fraction").value),
      columns: isTable && columnOne !== "" && columnOne !== "pca" ? [Number(columnOne), Number($("column-2").value)] : null,
      features: Array.from(document.querySelectorAll("#features input:checked")).map((box) => box.value),
      hidden: hidden, activation: $("activation").value, init: $("init").value, batchnorm: $("batchnorm").checked,
      dropout: Number($("dropout").value), l1: Number($("l1").value), l2: Number($("l2").value),
      optimizer: $("optimizer").value, lr: Number($("lr").value), batch_size: Number($("batch_size").value),
      seed: Number($("seed").value),
    };
  }

  function writeSettings(settings, info) {
    for (const name of ["dataset", "noise", "points", "train_fraction", "activation", "init", "dropout", "l1", "l2",
      "optimizer", "lr", "batch_size", "seed"]) {
      $(name).value = settings[name];
    }
    $("batchnorm").checked = settings.batchnorm;
    $("hidden").value = settings.hidden.join(", ");
    $("layer-count").textContent = settings.hidden.length;
    $("noise-value").textContent = settings.noise;
    $("train-value").textContent = `${Math.round(settings.train_fraction * 100)}%`;
    for (const box of document.querySelectorAll("#features input")) box.checked = settings.features.includes(box.value);
    const isToy = TOYS.includes(settings.dataset);
    for (const element of document.querySelectorAll(".toy-only")) element.hidden = !isToy;
    for (const element of document.querySelectorAll(".table-only")) element.hidden = isToy;
    const first = $("column-1"), second = $("column-2");
    first.innerHTML = '<option value="pca">first two principal components</option>';
    second.innerHTML = "";
    if (!isToy) {
      info.columns.forEach((name, index) => {
        first.add(new Option(name, index));
        second.add(new Option(name, index));
      });
    }
    first.value = settings.columns ? settings.columns[0] : "pca";
    second.value = settings.columns ? settings.columns[1] : (info.columns.length > 1 ? 1 : 0);
    $("column-2-label").hidden = !settings.columns;
    $("limits").textContent = `at most ${info.limits.layers} hidden layers of at most ${info.limits.units} units`;
  }

  function buildFeatureBoxes() {
    const box = $("features");
    for (const [value, label] of Object.entries(FEATURES)) {
      const item = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = value;
      input.addEventListener("change", settingsChanged);
      item.append(input, ` ${label}`);
      box.append(item);
    }
  }

  // ------------------------------------------------------------------ what arrives
  function onRun(info) {
    pg.info = info;
    pg.rows = [];
    pg.frame = null;
    pg.findings = [];
    pg.selected = null;
    pg.explanation = null;
    pg.epoch = 0;
    writeSettings(info.settings, info);
    inputPictures = info.inputs.map((input) => picture(info.unit_grid, unitColour(input)));
    $("explanation").innerHTML = "";
    $("explain").disabled = true;
    $("step-caption").textContent = "pick a training point on the picture";
    document.querySelector(".metric-name").textContent = info.task === "classification" ? "accuracy" : "R²";
    $("output-caption").textContent = info.task === "classification"
      ? `${info.axes[0]} across, ${info.axes[1]} up; colour: the predicted class (${info.classes.join(", ")})`
      : `${info.axes[0]} across, ${info.axes[1]} up; colour: the predicted value (standardized)`;
    lastFindings = "";
    scheduleDraw();
  }

  function onFrame(message) {
    if (!pg.info || message.generation !== pg.info.generation) return;
    for (const row of message.rows) pg.rows.push(row);
    pg.rows = thin(pg.rows);
    pg.state = message.state;
    pg.epoch = message.epoch;
    pg.findings = message.findings;
    if (message.frame) pg.frame = message.frame;
    if (message.error) showError(`Training failed: ${message.error}`);
    else if (message.message) showError(message.message);
    scheduleDraw();
  }

  // The newest KEEP epochs are kept one by one, older ones thinned to every other row whenever there are twice as
  // many: a run that plays for hours draws as fast, and holds as little, as one that played for minutes.
  const KEEP = 1500;
  function thin(rows) {
    if (rows.length <= 2 * KEEP) return rows;
    const old = rows.length - KEEP;
    return rows.filter((row, i) => i >= old || i % 2 === 0);
  }

  let drawPending = false;
  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      draw();
    });
  }

  function draw() {
    if (!pg.info) return;
    drawStatus();
    drawOutput();
    drawNetwork();
    drawCurves();
    drawHeatmaps();
    drawFindings();
    const now = performance.now();
    pg.drawnAt.push(now);
    while (pg.drawnAt.length && pg.drawnAt[0] < now - 1000) pg.drawnAt.shift();
    pg.fps = pg.drawnAt.length;
    pg.renders += 1;
  }

  // ------------------------------------------------------------------ colours
  function mix(colour, weight) {          // colour at weight 1, white at 0
    return colour.map((channel, i) => Math.round(WHITE[i] + (channel - WHITE[i]) * weight));
  }

  function diverging(value) {             // value in [-1, 1]: orange … white … blue
    return value < 0 ? mix(CLASS_COLOURS[0], -value) : mix(CLASS_COLOURS[1], value);
  }

  function decode(base64) {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function picture(size, colourAt) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = size;
    const context = canvas.getContext("2d");
    const image = context.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      const [r, g, b] = colourAt(i);
      image.data.set([r, g, b, 255], i * 4);
    }
    context.putImageData(image, 0, 0);
    return canvas;
  }

  function outputPicture(output, size, strength) {
    const values = decode(output.values);
    if (output.kind !== "classes") {        // P(class 1), or a regression value: orange … white … blue
      return picture(size, (i) => diverging((values[i] / 255 * 2 - 1) * strength));
    }
    const classes = decode(output.classes);
    const k = pg.info.classes.length;
    return picture(size, (i) => {
      const confidence = values[i] / 255;
      const colour = CLASS_COLOURS[Math.round(classes[i] / 255) % CLASS_COLOURS.length];
      return mix(colour, Math.max(0, (confidence - 1 / k) / (1 - 1 / k)) * strength);
    });
  }

  function pointColour(y) {
    if (pg.info.task === "regression") {
      const [low, high] = pg.info.value_range;
      return diverging(((y - low) / (high - low || 1)) * 2 - 1);
    }
    return CLASS_COLOURS[y % CLASS_COLOURS.length];
  }

  // ------------------------------------------------------------------ drawing
  function drawStatus() {
    $("epoch").textContent = pg.epoch;
    $("state").textContent = pg.state;
    $("play").textContent = pg.state === "playing" ? "❚❚ Pause" : "▶ Play";
    $("play").disabled = pg.state === "stopped" || pg.state === "failed";
    $("step").disabled = pg.state === "stopped" || pg.state === "failed";
    $("fps").textContent = pg.state === "playing" ? `${pg.fps} updates/s` : "";
    const last = pg.rows[pg.rows.length - 1];
    const metric = pg.info && pg.info.task === "classification" ? "accuracy" : "r2";
    const show = (value) => (value === undefined || value === null ? "–" : Number(value).toFixed(3));
    $("train-loss").textContent = show(last && last.loss);
    $("test-loss").textContent = show(last && last.val_loss);
    $("train-metric").textContent = show(last && last[metric]);
    $("test-metric").textContent = show(last && last["val_" + metric]);
  }

  function toPixel(point, extent, size) {
    return [(point[0] + extent) / (2 * extent) * size, (extent - point[1]) / (2 * extent) * size];
  }

  function drawOutput() {
    const canvas = $("output");
    const context = canvas.getContext("2d");
    const size = canvas.width;
    context.clearRect(0, 0, size, size);
    if (pg.frame) {
      context.imageSmoothingEnabled = true;
      context.drawImage(outputPicture(pg.frame.output, pg.info.grid, 0.75), 0, 0, size, size);
    }
    const extent = pg.info.extent;
    const drawPoints = (set, filled) => {
      set.points.forEach((point, i) => {
        const [x, y] = toPixel(point, extent, size);
        const [r, g, b] = pointColour(set.y[i]);
        context.beginPath();
        context.arc(x, y, 3.2, 0, 2 * Math.PI);
        if (filled) {
          context.fillStyle = `rgb(${r},${g},${b})`;
          context.fill();
          context.strokeStyle = "#fff";
          context.lineWidth = 1;
        } else {
          context.strokeStyle = `rgb(${r},${g},${b})`;
          context.lineWidth = 1.5;
        }
        context.stroke();
      });
    };
    drawPoints(pg.info.test, false);
    drawPoints(pg.info.train, true);
    if (pg.selected !== null) {
      const [x, y] = toPixel(pg.info.train.points[pg.selected], extent, size);
      context.beginPath();
      context.arc(x, y, 8, 0, 2 * Math.PI);
      context.strokeStyle = "#000";
      context.lineWidth = 2;
      context.stroke();
    }
    context.fillStyle = "#333";
    context.font = "11px system-ui";
    context.fillText(`${-extent} … ${extent}`, 4, size - 4);
  }

  let inputPictures = [];             // each input feature over the plane, as the network sees it (from the server)

  function networkLayout(canvas) {
    const sizes = pg.info.sizes;
    const most = Math.max(...sizes);
    const tile = most <= 10 ? 30 : most <= 20 ? 20 : 14;
    const gap = tile < 20 ? 4 : 8;
    const height = Math.max(220, most * (tile + gap) + 40);
    if (canvas.height !== height) canvas.height = height;
    const margin = 50;
    const step = (canvas.width - 2 * margin - tile) / Math.max(sizes.length - 1, 1);
    return sizes.map((count, layer) => {
      const top = (height - count * (tile + gap) + gap) / 2;
      return Array.from({length: count}, (_, unit) => ({x: margin + layer * step, y: top + unit * (tile + gap), size: tile}));
    });
  }

  function drawNetwork() {
    const canvas = $("network");
    const context = canvas.getContext("2d");
    const layout = networkLayout(canvas);
    context.clearRect(0, 0, canvas.width, canvas.height);
    const frame = pg.frame;
    if (frame) {                                   // edges: colour by sign, width by |w|
      let largest = 1e-12;
      for (const layer of frame.weights) for (const row of layer.W) for (const w of row) largest = Math.max(largest, Math.abs(w));
      frame.weights.forEach((layer, l) => {
        layer.W.forEach((row, i) => row.forEach((w, j) => {
          const from = layout[l][i], to = layout[l + 1][j];
          const [r, g, b] = w > 0 ? CLASS_COLOURS[1] : CLASS_COLOURS[0];
          context.strokeStyle = `rgba(${r},${g},${b},${0.25 + 0.6 * Math.abs(w) / largest})`;
          context.lineWidth = 0.3 + 4 * Math.abs(w) / largest;
          context.beginPath();
          context.moveTo(from.x + from.size, from.y + from.size / 2);
          context.lineTo(to.x, to.y + to.size / 2);
          context.stroke();
        }));
      });
    }
    context.imageSmoothingEnabled = true;
    layout.forEach((column, l) => column.forEach((spot, unit) => {
      let image = null, state = "";
      if (l === 0) image = inputPictures[unit];
      else if (frame && l < layout.length - 1) {
        image = picture(pg.info.unit_grid, unitColour(frame.units[l - 1][unit]));
        state = frame.states[l - 1][unit];
      }
      if (image) context.drawImage(image, spot.x, spot.y, spot.size, spot.size);
      else {
        context.fillStyle = "#eef1f6";
        context.fillRect(spot.x, spot.y, spot.size, spot.size);
      }
      context.lineWidth = state === "saturated" ? 3 : 1;
      context.strokeStyle = state === "saturated" ? "#c0392b" : "#9aa3b2";
      context.strokeRect(spot.x, spot.y, spot.size, spot.size);
      if (state === "dead") {
        context.fillStyle = "rgba(120,120,120,0.65)";
        context.fillRect(spot.x, spot.y, spot.size, spot.size);
        context.strokeStyle = "#fff";
        context.beginPath();
        context.moveTo(spot.x + 3, spot.y + 3);
        context.lineTo(spot.x + spot.size - 3, spot.y + spot.size - 3);
        context.moveTo(spot.x + spot.size - 3, spot.y + 3);
        context.lineTo(spot.x + 3, spot.y + spot.size - 3);
        context.stroke();
      }
    }));
    context.fillStyle = "#333";
    context.font = "11px system-ui";
    pg.info.features.forEach((name, i) => {
      const spot = layout[0][i];
      context.fillText(FEATURES[name], spot.x - 42, spot.y + spot.size / 2 + 4);
    });
    const outputs = layout[layout.length - 1];
    outputs.forEach((spot, i) => {
      const label = pg.info.task === "classification" ? String(pg.info.classes[i]).slice(0, 10) : "ŷ";
      context.fillText(label, spot.x + spot.size + 4, spot.y + spot.size / 2 + 4);
    });
    layout.forEach((column, l) => {
      const label = l === 0 ? "inputs" : l === layout.length - 1 ? "output" : `hidden ${l}`;
      context.fillText(label, column[0].x, 12);
    });
  }

  function unitColour(unit) {
    const values = decode(unit.values);
    return (i) => diverging(values[i] / 255 * 2 - 1);
  }

  function drawCurves() {
    const canvas = $("curves");
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    const rows = pg.rows;
    const metric = pg.info.task === "classification" ? "accuracy" : "r2";
    const half = canvas.width / 2;
    const panel = (x0, keys, title, fixed) => {
      const top = 16, bottom = canvas.height - 16, left = x0 + 30, right = x0 + half - 8;
      const values = rows.flatMap((row) => keys.map((key) => row[key])).filter((v) => Number.isFinite(v));
      let low = fixed ? fixed[0] : 0, high = fixed ? fixed[1] : Math.max(1e-9, ...values);
      if (!fixed && values.length) low = Math.min(0, ...values);
      if (metric === "r2" && !fixed) low = Math.min(low, 0);
      context.strokeStyle = "#c8ced8";
      context.strokeRect(left, top, right - left, bottom - top);
      context.fillStyle = "#333";
      context.font = "11px system-ui";
      context.fillText(title, left, 11);
      context.fillText(high.toPrecision(2), x0, top + 8);
      context.fillText(low.toPrecision(2), x0, bottom);
      ["#1d2330", "#e6821e"].forEach((colour, k) => {
        context.strokeStyle = colour;
        context.lineWidth = 1.5;
        context.beginPath();
        const first = rows.length ? rows[0].epoch : 0, span = Math.max(rows.length ? rows[rows.length - 1].epoch - first : 0, 1);
        rows.forEach((row, i) => {
          const value = Math.max(low, Math.min(high, row[keys[k]]));
          const x = left + (row.epoch - first) / span * (right - left);
          const y = bottom - (value - low) / (high - low || 1) * (bottom - top);
          if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
        });
        context.stroke();
      });
    };
    panel(0, ["loss", "val_loss"], "loss: train (dark), test (orange)", null);
    panel(half, [metric, "val_" + metric], `${metric === "r2" ? "R²" : "accuracy"}: train, test`,
      metric === "accuracy" ? [0, 1] : null);
  }

  const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];   // dark … bright
  function ramp(t) {
    const x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
    const i = Math.min(Math.floor(x), RAMP.length - 2), f = x - i;
    return RAMP[i].map((channel, c) => Math.round(channel + (RAMP[i + 1][c] - channel) * f));
  }

  function heatmap(canvas, series, epochs, labels, bounds) {
    // series: one array of values per row, epochs: each row's epoch. Columns: epochs, binned to fit, by epoch number.
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    const left = 64, width = canvas.width - left, height = canvas.height;
    if (!series.length) return;
    const rows = series[0].length;
    const first = epochs[0], span = epochs[epochs.length - 1] - first + 1;
    const columns = Math.min(span, width);
    const sums = new Float64Array(columns * rows), counts = new Uint32Array(columns);
    series.forEach((values, e) => {
      const c = Math.min(columns - 1, Math.floor((epochs[e] - first) * columns / span));
      counts[c] += 1;
      for (let r = 0; r < rows; r++) sums[c * rows + r] += Math.log10(Math.max(values[r], 1e-12));
    });
    const image = context.createImageData(columns, rows);
    let last = -1;
    for (let c = 0; c < columns; c++) {
      if (counts[c]) last = c;            // an empty bin (thinned history) shows its neighbour on the left
      if (last < 0) continue;
      for (let r = 0; r < rows; r++) {
        const [red, green, blue] = ramp((sums[last * rows + r] / counts[last] - bounds[0]) / (bounds[1] - bounds[0] || 1));
        image.data.set([red, green, blue, 255], (r * columns + c) * 4);
      }
    }
    const scratch = document.createElement("canvas");
    scratch.width = columns;
    scratch.height = rows;
    scratch.getContext("2d").putImageData(image, 0, 0);
    context.imageSmoothingEnabled = false;
    context.drawImage(scratch, left, 0, width, height);
    context.fillStyle = "#333";
    context.font = "10px system-ui";
    labels.forEach(([row, text]) => context.fillText(text, 2, (row + 0.5) / rows * height + 4));
    context.strokeStyle = "rgba(255,255,255,0.8)";
    labels.forEach(([row]) => {
      if (row === 0) return;
      context.beginPath();
      context.moveTo(left, row / rows * height);
      context.lineTo(canvas.width, row / rows * height);
      context.stroke();
    });
  }

  function drawHeatmaps() {
    const rows = pg.rows.filter((row) => row.delta);
    const deltas = rows.map((row) => row.delta.flat());
    const grads = rows.map((row) => row.grad_norm);
    let low = Infinity, high = -Infinity;               // one colour scale for both maps: log₁₀ of what they show
    for (const values of deltas.concat(grads)) {
      for (const value of values) {
        if (value > 0) {
          const exponent = Math.log10(value);
          if (exponent < low) low = exponent;
          if (exponent > high) high = exponent;
        }
      }
    }
    if (low > high) { low = -8; high = 0; }
    const bounds = [low, high];
    const sizes = pg.info.sizes.slice(1);
    const unitLabels = [];
    let offset = 0;
    sizes.forEach((count, l) => {
      unitLabels.push([offset, l === sizes.length - 1 ? "output" : `hidden ${l + 1}`]);
      offset += count;
    });
    const epochs = rows.map((row) => row.epoch);
    heatmap($("delta-map"), deltas, epochs, unitLabels, bounds);
    heatmap($("grad-map"), grads, epochs, sizes.map((_, l) => [l, l === sizes.length - 1 ? "W out" : `W ${l + 1}`]), bounds);
    const legend = $("legend").getContext("2d");
    for (let x = 0; x < 200; x++) {
      const [r, g, b] = ramp(x / 199);
      legend.fillStyle = `rgb(${r},${g},${b})`;
      legend.fillRect(x, 0, 1, 10);
    }
    $("legend-text").textContent = `10^${low.toFixed(1)} … 10^${high.toFixed(1)}` +
      (pg.epoch ? ` over ${pg.epoch} epochs` : "");
  }

  let lastFindings = "";
  function drawFindings() {
    const text = JSON.stringify(pg.findings) + (pg.frame ? "+frame" : "");
    if (text === lastFindings) return;
    lastFindings = text;
    const list = $("findings");
    list.innerHTML = "";
    if (!pg.findings.length) {
      const item = document.createElement("li");
      item.className = "ok";
      item.textContent = pg.frame ? "no problem found in the gradient flow" : "none yet";
      list.append(item);
      return;
    }
    for (const finding of pg.findings) {
      const item = document.createElement("li");
      item.dataset.kind = finding.kind;
      const title = document.createElement("b");
      title.textContent = finding.kind.replace(/_/g, " ");
      const measured = finding.value === null ? "" : ` (${finding.measure}: ${Number(finding.value).toPrecision(3)})`;
      item.append(title, ` at ${finding.where}${measured}. `);
      const advice = document.createElement("span");
      advice.className = "advice";
      advice.textContent = finding.advice;
      item.append(advice);
      const actions = document.createElement("div");
      for (const action of finding.actions) {
        const button = document.createElement("button");
        button.textContent = action.label;
        button.addEventListener("click", () => applySettings(action.change));
        actions.append(button);
      }
      item.append(actions);
      list.append(item);
    }
  }

  // ------------------------------------------------------------------ step mode
  function pickPoint(event) {
    if (!pg.info) return;
    const canvas = $("output");
    const box = canvas.getBoundingClientRect();
    const x = (event.clientX - box.left) * canvas.width / box.width, y = (event.clientY - box.top) * canvas.height / box.height;
    let best = null, bestDistance = 12 * 12;
    pg.info.train.points.forEach((point, i) => {
      const [px, py] = toPixel(point, pg.info.extent, canvas.width);
      const distance = (px - x) ** 2 + (py - y) ** 2;
      if (distance < bestDistance) { best = i; bestDistance = distance; }
    });
    if (best === null) return;
    selectPoint(best);
  }

  function selectPoint(index) {
    pg.selected = index;
    const point = pg.info.train.points[index], target = pg.info.train.y[index];
    const shown = pg.info.task === "classification" ? `class ${pg.info.classes[target]}` : `y = ${target.toFixed(3)}`;
    $("step-caption").textContent = `training point ${index}: (${point[0]}, ${point[1]}), ${shown}`;
    $("explain").disabled = false;
    scheduleDraw();
  }

  function number(value) {           // 6 significant digits, exponent for the very small and very large
    if (value === null || value === undefined) return "";
    const v = Number(value);
    if (v === 0) return "0";
    if (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) return v.toExponential(5);
    return String(Number(v.toPrecision(6)));
  }

  function table(title, rows, header) {
    let html = `<table><tr><th>${title}</th>${header.map((h) => `<th>${h}</th>`).join("")}</tr>`;
    for (const [name, values] of rows) {
      html += `<tr><th>${name}</th>${values.map((v) => `<td>${number(v)}</td>`).join("")}</tr>`;
    }
    return html + "</table>";
  }

  async function explainStep() {
    if (pg.selected === null) return;
    try {
      const result = await api(`/api/runs/${pg.runId}/explain`, {point: pg.selected});
      pg.explanation = result;
      showExplanation(result);
    } catch (error) { showError(error.message); }
  }

  function showExplanation(result) {
    const n = result.layers.length;
    const units = (values, arrow) => values.map((_, j) => `${arrow ? "→ " : ""}unit ${j + 1}`);
    let intro = `<p>Epoch ${result.epoch}, training point ${result.point}: inputs ${result.x.map(number).join(", ")},
      target ${result.target}. The step runs on a copy of the network with the run's optimizer
      (<code>${result.optimizer}</code>); the run itself does not change.</p>`;
    let forward = "<h3>1. Forward pass: Z = A<sub>in</sub>·W + b, A = f(Z)</h3>";
    result.layers.forEach((layer, k) => {
      forward += table(`layer ${k + 1}${k === n - 1 ? " (output)" : ""}`, [["Z", layer.Z], ["A", layer.A]], units(layer.Z));
    });
    let backward = `<h3>2. Loss</h3><p>L = <b class="loss">${number(result.loss)}</b>;
      ∂L/∂ŷ = ${result.grad_output.map(number).join(", ")}</p>`;
    backward += "<h3>3. Backward pass: δ = ∂L/∂Z, from the output back</h3>";
    for (let k = n - 1; k >= 0; k--) {
      backward += table(`δ${k + 1}${k === n - 1 ? " (output)" : ""}`, [["δ", result.layers[k].delta]],
        units(result.layers[k].delta));
    }
    backward += `<p>Loss on this point after the update: <b>${number(result.loss_after)}</b> (was ${number(result.loss)}).</p>`;
    let gradients = "<h3>4. Gradients ∂L/∂W = A<sub>in</sub>ᵀ·δ, ∂L/∂b = δ, and the update ΔW</h3>";
    result.layers.forEach((layer, k) => {
      gradients += table(`∂L/∂W${k + 1}`, layer.dW.map((row, i) => [`input ${i + 1}`, row]), units(layer.delta, true));
      if (layer.db) gradients += table(`∂L/∂b${k + 1}`, [["b", layer.db]], units(layer.delta, true));
      gradients += table(`ΔW${k + 1}`, layer.update_W.map((row, i) => [`input ${i + 1}`, row]), units(layer.delta, true));
    });
    $("explanation").innerHTML = `<div style="flex-basis:100%">${intro}</div><div>${forward}</div><div>${backward}</div>` +
      `<div>${gradients}</div>`;
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    buildFeatureBoxes();
    $("play").addEventListener("click", () => control(pg.state === "playing" ? "pause" : "play"));
    $("step").addEventListener("click", () => control("step"));
    $("reset").addEventListener("click", () => control("reset"));
    $("speed").addEventListener("change", () => control(null));
    for (const name of ["dataset", "points", "activation", "init", "batchnorm", "dropout", "l1", "l2", "optimizer", "lr",
      "batch_size", "seed", "hidden", "noise", "train_fraction", "column-2"]) {
      $(name).addEventListener("change", settingsChanged);
    }
    $("dataset").addEventListener("change", () => { $("column-1").value = "pca"; });
    $("column-1").addEventListener("change", () => {
      $("column-2-label").hidden = $("column-1").value === "pca";
      if ($("column-1").value === $("column-2").value) {
        $("column-2").value = String((Number($("column-1").value) + 1) % pg.info.columns.length);
      }
      settingsChanged();
    });
    $("noise").addEventListener("input", () => { $("noise-value").textContent = $("noise").value; });
    $("train_fraction").addEventListener("input", () => {
      $("train-value").textContent = `${Math.round($("train_fraction").value * 100)}%`;
    });
    $("add-layer").addEventListener("click", () => {
      const sizes = $("hidden").value.split(/[\s,]+/).filter(Boolean);
      sizes.push(sizes.length ? sizes[sizes.length - 1] : "4");
      $("hidden").value = sizes.join(", ");
      settingsChanged();
    });
    $("remove-layer").addEventListener("click", () => {
      const sizes = $("hidden").value.split(/[\s,]+/).filter(Boolean);
      sizes.pop();
      $("hidden").value = sizes.join(", ");
      settingsChanged();
    });
    $("output").addEventListener("click", pickPoint);
    $("explain").addEventListener("click", explainStep);
    window.addEventListener("pagehide", () => {
      if (pg.runId) navigator.sendBeacon(`/api/runs/${pg.runId}/close`);
    });
    pg.selectPoint = selectPoint;
    pg.thin = thin;
    pg.applySettings = applySettings;
  }

  wire();
  const defaults = {dataset: "circle", features: ["x1", "x2"], hidden: [8, 8], activation: "tanh"};
  startRun(defaults).catch((error) => showError(error.message));
})();
