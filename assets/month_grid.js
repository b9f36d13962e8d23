// The month grid's keys (booking_ui/components/month_calendar.py): the WAI-ARIA grid pattern.
// Arrow keys move a day / a week, Home/End to the week's Monday/Sunday, PageUp/PageDown to the previous/next
// month; Enter and Space are the day button's own click. One Tab stop: the focused day has tabindex 0.
(function () {
  if (window.__monthGridKeys) return;
  window.__monthGridKeys = true;

  function iso(d) { return d.toISOString().slice(0, 10); }

  function rove(grid, target) {
    grid.querySelectorAll('[data-grid-day]').forEach(function (el) { el.setAttribute('tabindex', '-1'); });
    target.setAttribute('tabindex', '0');
    target.focus();
  }

  // After a month change React renders the new month: focus the wanted day once it is there (else the
  // month's own Tab stop).
  function focusWhenShown(grid, day, tries) {
    var target = document.querySelector('[role="grid"] [data-grid-day="' + day + '"]');
    if (target) { rove(target.closest('[role="grid"]'), target); return; }
    if (tries <= 0) {
      var fallback = document.querySelector('[role="grid"] [data-grid-day][tabindex="0"]');
      if (fallback) fallback.focus();
      return;
    }
    setTimeout(function () { focusWhenShown(grid, day, tries - 1); }, 50);
  }

  function changeMonth(grid, which, day) {
    var box = grid.parentElement;
    var button = box && box.querySelector('[data-grid-' + which + ']');
    if (!button || button.disabled) return;
    button.click();
    focusWhenShown(grid, day, 60);
  }

  document.addEventListener('keydown', function (event) {
    var cell = event.target && event.target.closest ? event.target.closest('[data-grid-day]') : null;
    if (!cell || event.altKey || event.ctrlKey || event.metaKey) return;
    var grid = cell.closest('[role="grid"]');
    var day = new Date(cell.getAttribute('data-grid-day') + 'T00:00:00Z');
    var weekday = (day.getUTCDay() + 6) % 7; // Monday 0
    var delta = null;
    switch (event.key) {
      case 'ArrowLeft': delta = -1; break;
      case 'ArrowRight': delta = 1; break;
      case 'ArrowUp': delta = -7; break;
      case 'ArrowDown': delta = 7; break;
      case 'Home': delta = -weekday; break;
      case 'End': delta = 6 - weekday; break;
      case 'PageUp':
      case 'PageDown': {
        event.preventDefault();
        var other = new Date(day);
        other.setUTCDate(1);
        other.setUTCMonth(other.getUTCMonth() + (event.key === 'PageUp' ? -1 : 1));
        var last = new Date(Date.UTC(other.getUTCFullYear(), other.getUTCMonth() + 1, 0)).getUTCDate();
        other.setUTCDate(Math.min(day.getUTCDate(), last));
        changeMonth(grid, event.key === 'PageUp' ? 'previous' : 'next', iso(other));
        return;
      }
      case 'Enter':
      case ' ':
        if (cell.getAttribute('aria-disabled') === 'true') event.preventDefault();
        return; // a day with times: the button's own click picks it
      default:
        return;
    }
    event.preventDefault();
    var target = new Date(day);
    target.setUTCDate(day.getUTCDate() + delta);
    var wanted = iso(target);
    var there = grid.querySelector('[data-grid-day="' + wanted + '"]');
    if (there) { rove(grid, there); return; }
    changeMonth(grid, delta < 0 ? 'previous' : 'next', wanted);
  });
})();
