// Buy tokens / Subscribe: open Paddle's overlay checkout for a price the page lists, passing the
// DJ's id as custom_data.user_id. The browser never says how many tokens a payment is worth: the
// service credits what Paddle's signed transaction.completed says was bought. After paying, the
// page polls the balance until the credit arrives.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("paddle-checkout");
  if (box && window.Paddle) {
    if (box.getAttribute("data-environment") === "sandbox") {
      window.Paddle.Environment.set("sandbox");
    }
    var successUrl = new URL(box.getAttribute("data-success-url"), window.location.href).href;
    window.Paddle.Initialize({
      token: box.getAttribute("data-client-token"),
      eventCallback: function (event) {
        if (event && event.name === "checkout.completed") {
          window.setTimeout(function () { window.location.assign(successUrl); }, 500);
        }
      }
    });
    document.querySelectorAll("button.buy[data-price-id]").forEach(function (button) {
      button.addEventListener("click", function () {
        var options = {
          items: [{ priceId: button.getAttribute("data-price-id"), quantity: 1 }],
          customData: { user_id: box.getAttribute("data-user-id") },
          settings: { displayMode: "overlay", successUrl: successUrl }
        };
        var email = box.getAttribute("data-email");
        if (email) options.customer = { email: email };
        window.Paddle.Checkout.open(options);
      });
    });
  }

  var status = document.getElementById("payment-status");
  if (!status) return;
  var before = parseInt(status.getAttribute("data-awaiting"), 10);
  var shown = document.getElementById("balance");
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(status.getAttribute("data-balance-url"), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (data) {
      if (shown) shown.textContent = String(data.balance);
      if (data.balance !== before) {
        status.textContent = "Your tokens have arrived. Thank you!";
        return;
      }
      if (tries < 60) window.setTimeout(poll, 1000 + tries * 250);
    }).catch(function () {
      if (tries < 60) window.setTimeout(poll, 3000);
    });
  }
  window.setTimeout(poll, 1000);
});
