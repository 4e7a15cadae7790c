package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
)

// Create a connector, then watch its status until it and its tasks run.
func ExampleNew() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8083",
		client.WithToken("my-token"),              // sent as a bearer token
		client.WithTimeout(10*time.Second),        // per unary call
		client.WithRetry(5, 200*time.Millisecond), // reads, when unavailable
	)
	if err != nil {
		panic(err)
	}
	_, err = c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{
		Name:   "gen",
		Config: map[string]string{"connector.class": "datagen", "topic": "gen", "records.per.second": "10"},
	}))
	if errors.Is(err, client.ErrInvalidArgument) {
		fmt.Println("bad config:", err.(*client.Error).Message)
		return
	} else if err != nil {
		panic(err)
	}
	for {
		res, err := c.Connectors.GetConnectorStatus(ctx, connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: "gen"}))
		if err != nil {
			panic(err)
		}
		st := res.Msg.GetStatus()
		fmt.Println(st.GetConnector().GetState(), len(st.GetTasks()), "tasks")
		if st.GetConnector().GetState() == sluicev1.State_STATE_RUNNING && len(st.GetTasks()) > 0 &&
			st.GetTasks()[0].GetState() == sluicev1.State_STATE_RUNNING {
			return
		}
		time.Sleep(time.Second)
	}
}

// Tell a missing connector from other failures.
func ExampleError() {
	c, _ := client.New("")
	_, err := c.Connectors.GetConnector(context.Background(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "nope"}))
	var e *client.Error
	switch {
	case errors.Is(err, client.ErrNotFound):
		fmt.Println("no such connector")
	case errors.As(err, &e):
		fmt.Println(e.Code, e.Message)
	}
}
