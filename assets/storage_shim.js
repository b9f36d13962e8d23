/* Embedded booking pages (an iframe on the builder's own site) may be denied Web Storage: browsers that
   block third-party storage throw on any access to localStorage, and the app would stop rendering.
   Then, and only then, this page gets an in-memory stand-in (nothing outlives the page, which an
   embedded booking page doesn't need). A classic script in <head>: it runs before the app's modules. */
(function () {
  function usable(name) {
    try {
      var store = window[name];
      store.setItem("__storage_probe__", "1");
      store.removeItem("__storage_probe__");
      return true;
    } catch (e) {
      return false;
    }
  }
  function memoryStorage() {
    var data = {};
    var store = {
      getItem: function (key) { return Object.prototype.hasOwnProperty.call(data, key) ? data[key] : null; },
      setItem: function (key, value) { data[key] = String(value); },
      removeItem: function (key) { delete data[key]; },
      clear: function () { data = {}; },
      key: function (index) { var keys = Object.keys(data); return index < keys.length ? keys[index] : null; }
    };
    Object.defineProperty(store, "length", { get: function () { return Object.keys(data).length; } });
    return store;
  }
  ["localStorage", "sessionStorage"].forEach(function (name) {
    if (!usable(name)) {
      try {
        Object.defineProperty(window, name, { value: memoryStorage(), configurable: true, writable: true });
      } catch (e) { /* nothing more to do: the page behaves as before */ }
    }
  });
})();
