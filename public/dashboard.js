// The dashboard's one script: draws the Chartist charts from the JSON the server swaps in
// (#chart-data), updating them in place so nothing flickers or jumps; shows whether the live
// stream is connected; and applies a new time range when the select changes.
;(() => {
  const root = document.getElementById('dashboard')
  if (!root || !window.Chartist) return
  const { LineChart, BarChart } = window.Chartist
  const charts = new Map()

  const timeLabel = (t, spanMs) =>
    spanMs > 36 * 3600_000
      ? new Date(t).toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      : new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })

  // Show about eight labels whatever the number of buckets.
  const sparseLabels = (ts) => {
    const span = ts.length > 1 ? ts[ts.length - 1] - ts[0] : 0
    const every = Math.max(1, Math.ceil(ts.length / 8))
    return ts.map((t, i) => (i % every === 0 ? timeLabel(t, span) : ''))
  }

  const options = {
    requests: { stackBars: true, axisY: { onlyInteger: true }, chartPadding: { left: 0, right: 16 } },
    // points shown: a minute with calls between quiet minutes has no line to draw, only its point
    latency: { showPoint: true, lineSmooth: false, axisY: { onlyInteger: true }, chartPadding: { left: 8, right: 16 } },
    errors: { showPoint: true, lineSmooth: false, low: 0, showArea: true, chartPadding: { left: 12, right: 16 } },
    tokens: { showPoint: false, lineSmooth: false, showArea: true, chartPadding: { left: 8, right: 16 } },
    cache: { showPoint: false, lineSmooth: false, showArea: true, chartPadding: { left: 8, right: 16 } },
  }

  function draw() {
    const source = document.getElementById('chart-data')
    if (!source) return
    let data
    try {
      data = JSON.parse(source.dataset.json || '{}')
    } catch {
      return
    }
    const labels = sparseLabels(data.t || [])
    for (const element of root.querySelectorAll('[data-chart]')) {
      const name = element.dataset.chart
      const series = (data[name] || []).map((s) => s.map((v) => (v === null ? null : Math.round(v * 100) / 100)))
      const chartData = { labels, series }
      element.classList.toggle('unavailable', !data.available)
      const existing = charts.get(name)
      if (existing) existing.update(chartData)
      else charts.set(name, new (name === 'requests' ? BarChart : LineChart)(element, chartData, options[name]))
    }
  }

  // Live status: what the page's one event stream is doing.
  const status = document.getElementById('live-status')
  const setStatus = (state, text) => {
    if (!status) return
    status.dataset.state = state
    status.textContent = text
  }
  root.addEventListener('htmx:sse:after:connection', () => setStatus('live', 'Live'))
  root.addEventListener('htmx:sse:after:message', () => {
    if (status && status.dataset.state !== 'live') setStatus('live', 'Live')
  })
  root.addEventListener('htmx:sse:error', () => setStatus('down', 'Disconnected: reconnecting…'))
  root.addEventListener('htmx:sse:close', () => setStatus('down', 'Disconnected'))
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) setStatus('paused', 'Paused while hidden')
  })

  // Keep the newest log line in view unless the person scrolled up to read.
  let logPinned = true
  const logList = () => document.querySelector('#panel-log .log-lines')
  document.addEventListener(
    'scroll',
    (event) => {
      const list = logList()
      if (list && event.target === list) logPinned = list.scrollHeight - list.scrollTop - list.clientHeight < 24
    },
    true,
  )
  const pinLog = () => {
    const list = logList()
    if (list && logPinned) list.scrollTop = list.scrollHeight
  }

  // Any swap that replaced the chart data redraws the charts in place.
  let lastDrawn = ''
  document.addEventListener('htmx:after:swap', () => {
    const json = document.getElementById('chart-data')?.dataset.json || ''
    if (json !== lastDrawn) {
      lastDrawn = json
      draw()
    }
    pinLog()
  })

  const rangeSelect = document.getElementById('range')
  rangeSelect?.addEventListener('change', () => rangeSelect.form?.submit())

  lastDrawn = document.getElementById('chart-data')?.dataset.json || ''
  draw()
  pinLog()
})()
