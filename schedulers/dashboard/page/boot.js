// The dashboard's only public script: finds the token (the URL's #token=, this tab's storage,
// or the form), checks it against /state, then loads the styles and scripts with it, so every
// request after the page shell carries the token. Without a token on the server, it just loads.
(function () {
  'use strict';
  var KEY = 'schedlab-dashboard-token';
  var form = document.getElementById('token-form');
  var input = document.getElementById('token-input');
  var problem = document.getElementById('token-error');

  function fromHash() {
    var m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return null;
    history.replaceState(null, '', location.pathname + location.search);
    return decodeURIComponent(m[1]);
  }

  function query(token) {
    return token ? '?token=' + encodeURIComponent(token) : '';
  }

  function load(token) {
    var q = query(token);
    ['/assets/uPlot.min.css', '/assets/dashboard.css'].forEach(function (href) {
      var link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href + q;
      document.head.appendChild(link);
    });
    var uplot = document.createElement('script');
    uplot.src = '/assets/uPlot.iife.min.js' + q;
    uplot.onload = function () {
      var main = document.createElement('script');
      main.src = '/assets/dashboard.js' + q;
      main.onload = function () { window.schedlabDashboard.start(q); };
      document.head.appendChild(main);
    };
    document.head.appendChild(uplot);
  }

  function attempt(token) {
    fetch('/state' + query(token), { headers: token ? { Authorization: 'Bearer ' + token } : {} }).then(function (res) {
      if (res.status === 401) {
        sessionStorage.removeItem(KEY);
        form.hidden = false;
        document.getElementById('connection').textContent = 'token needed';
        if (token) problem.textContent = 'That token was refused.';
        input.focus();
        return;
      }
      if (!res.ok) throw new Error('dashboard answered ' + res.status);
      if (token) sessionStorage.setItem(KEY, token);
      form.hidden = true;
      load(token);
    }).catch(function (err) {
      document.getElementById('connection').textContent = 'cannot reach the scheduler: ' + err.message;
    });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    problem.textContent = '';
    attempt(input.value);
  });
  attempt(fromHash() || sessionStorage.getItem(KEY) || '');
})();
