# Databricks notebook source
# MAGIC %md
# MAGIC # Using MLflow to Track Experiments
# MAGIC
# MAGIC ## Running an Experiment
# MAGIC In this exercise, you will use the NYC taxi dataset to train a model that predicts the total fare of a
# MAGIC taxi ride from a subset of the NYC Taxi & Limousine Commission green taxi trip records. You will train
# MAGIC variants of one linear regression model, changing its **hyperparameters** to try to achieve better
# MAGIC performance.
# MAGIC
# MAGIC You will use MLflow to log the parameters, metrics, model and a plot of each attempt. With MLflow you
# MAGIC create an **experiment**: a collection of **runs**, each run one attempt at training. Here every run
# MAGIC tries different hyperparameters for the same algorithm and data, so you can compare which fares best.
# MAGIC
# MAGIC ### Choose your compute
# MAGIC Attach this notebook to **serverless** compute (Databricks Free Edition has only serverless) with
# MAGIC serverless environment version 5 (the standard base environment; it comes with MLflow 3.8.1). Add two
# MAGIC dependencies, `scikit-learn` and `matplotlib`, without versions (if the environment has them already, pip
# MAGIC keeps what it has). Set this in each notebook's **Environment** side panel. Or attach it to a cluster, in
# MAGIC either access mode, running a **Databricks Runtime for Machine Learning** (an LTS ML runtime: 15.4, 16.4,
# MAGIC 17.3 or 18), which comes with MLflow, scikit-learn, pandas and matplotlib.
# MAGIC
# MAGIC The next cell runs the lab's setup notebook, which defines `load_trips()` and a few helpers.

# COMMAND ----------

# DBTITLE 1,Run the lab's setup notebook
# MAGIC %run ./includes/setup

# COMMAND ----------

# DBTITLE 1,Import libraries
import os
import tempfile
import uuid
from datetime import datetime, timezone

import matplotlib.pyplot as plt
import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

print(f"Loaded libraries: MLflow {mlflow.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
print(f"Compute: {compute_description()}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Parameters
# MAGIC Leave the two parameters blank to use the defaults: `data_path`, a CSV file of trips (blank: the lab's
# MAGIC data), and `experiment_name`, the MLflow experiment that receives the runs.
# MAGIC
# MAGIC An experiment keeps its runs: run this notebook again and the experiment holds the runs of every
# MAGIC session. So the cell also makes up an id for this session of the notebook, `lab_session`, and every run
# MAGIC it starts is tagged with it; later you will use the tag to pick out this session's runs.

# COMMAND ----------

# DBTITLE 1,Parameters: data and experiment
dbutils.widgets.text("data_path", "", "Trips CSV (blank: the lab's data)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")

data_path = dbutils.widgets.get("data_path")
experiment_name = dbutils.widgets.get("experiment_name") or default_experiment_name()

# Every run this notebook starts goes to this experiment; it is created if it does not exist yet.
experiment = mlflow.set_experiment(experiment_name)
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")

# The time this session started, and a few random characters in case two sessions start in the same second.
lab_session = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
print(f"Lab session: {lab_session}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Load the training data
# MAGIC Each row is one taxi ride: number of passengers, trip distance, hour, day and month, holiday and weather
# MAGIC information, and the total amount paid for the trip, which the model will predict. Run the following
# MAGIC cell to load the data into a pandas DataFrame and review it. If it says **SYNTHETIC**, the numbers you
# MAGIC see later will differ from a run on the real data.

# COMMAND ----------

# DBTITLE 1,Load the data
trips, trips_source = load_trips(data_path)
print(f"Loaded {len(trips):,} trips from {trips_source}")
display(trips)

# COMMAND ----------

# MAGIC %md
# MAGIC ### Featurize the data
# MAGIC The following cell prepares the data as the course's earlier lab did: `hour_of_day` becomes its sine and
# MAGIC cosine, so that 23:00 and 00:00 are close; a missing `passengerCount` becomes the median; the numerical
# MAGIC columns are scaled to [0, 1] and the categorical ones one-hot encoded, in steps that become part of the
# MAGIC model. The data is split into 70% for training and 30% for testing, with a fixed seed.

# COMMAND ----------

# DBTITLE 1,Featurize and split
features = trips.dropna(subset=["totalAmount"]).copy()

features["hour_sine"] = np.sin(features["hour_of_day"] * (2.0 * np.pi / 24))
features["hour_cosine"] = np.cos(features["hour_of_day"] * (2.0 * np.pi / 24))
features = features.drop(columns=["hour_of_day"])

features["isPaidTimeOff"] = features["isPaidTimeOff"].astype(int)
# A trip on no holiday has no holiday name; call that category "None", as the course's table does.
features["normalizeHolidayName"] = features["normalizeHolidayName"].fillna("None")

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols

# Whole numbers become floats: MLflow records the model's input columns and types (its signature), and a
# column of integers could not take a missing value at prediction time.
number_cols = [column for column in feature_columns if column != "normalizeHolidayName"]
features[number_cols] = features[number_cols].astype(float)

featurizer = ColumnTransformer([
    ("numerical", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler())]),
     numerical_cols),
    ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical_cols),
])

train_df, test_df = train_test_split(features, test_size=0.3, random_state=97)
print(f"Created datasets: {len(train_df):,} training rows, {len(test_df):,} test rows")

# COMMAND ----------

# MAGIC %md
# MAGIC ### Plot regression quality
# MAGIC This function plots each test trip as a red dot at its actual fare (x) and predicted fare (y), on
# MAGIC logarithmic axes; a perfect model would put every dot on the blue diagonal. It saves the plot as a PNG
# MAGIC file, which the training function logs to MLflow.

# COMMAND ----------

# DBTITLE 1,Plot function
def plot_regression_quality(actual, predicted, png_path):
    figure, axes = plt.subplots(figsize=(8, 8))
    axes.scatter(actual, predicted, c="crimson", s=6, alpha=0.5)
    axes.set_xscale("log")
    axes.set_yscale("log")

    # Log axes show positive values only; the diagonal spans the positive range of both.
    values = np.concatenate([np.asarray(actual), np.asarray(predicted)])
    low, high = values[values > 0].min(), values.max()
    axes.plot([low, high], [low, high], "b-")
    axes.set_xlabel("True values", fontsize=15)
    axes.set_ylabel("Predictions", fontsize=15)

    figure.savefig(png_path)
    plt.close(figure)
    return figure

# COMMAND ----------

# MAGIC %md
# MAGIC ### Create an MLflow run
# MAGIC The next function trains a linear regression model on `train_df` and evaluates it on `test_df`. Each
# MAGIC call sets three hyperparameters, named as in Spark ML's `LinearRegression`, which the original version of
# MAGIC this lab used:
# MAGIC - `elastic_net_param`, the ElasticNet mixing parameter: 0 is a pure L2 penalty (ridge), 1 a pure L1
# MAGIC   penalty (lasso);
# MAGIC - `reg_param`, the strength of that penalty (regularization): 0 is no penalty, ordinary least squares,
# MAGIC   which scikit-learn's `LinearRegression` solves in closed form; otherwise the model is an `ElasticNet`;
# MAGIC - `max_iter`, the maximum number of iterations the solver may take.
# MAGIC
# MAGIC Inside one MLflow run the function records:
# MAGIC * the tag `lab_session`, given to `mlflow.start_run`, which marks the run as one of this session's;
# MAGIC * the parameters, with `mlflow.log_params`;
# MAGIC * the metrics RMSE, MAE and R², with `mlflow.log_metrics`;
# MAGIC * the model, with `mlflow.sklearn.log_model`;
# MAGIC * an arbitrary file, the plot of predicted versus actual amounts, with `mlflow.log_artifact`.
# MAGIC
# MAGIC **Tip:** Use `with mlflow.start_run():` to create a new MLflow run. This is the recommended way to use
# MAGIC MLflow in notebook cells: whether your code completes or fails, the `with` block closes the run, so you
# MAGIC don't have to call `mlflow.end_run()`.

# COMMAND ----------

# DBTITLE 1,Training function
# The model's name, "model", as this MLflow release takes it, and the packages it needs (see the setup notebook).
model_options = sklearn_model_options()


def eval_metrics(actual, predicted):
    rmse = float(np.sqrt(mean_squared_error(actual, predicted)))
    mae = float(mean_absolute_error(actual, predicted))
    r2 = float(r2_score(actual, predicted))
    return rmse, mae, r2


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)  # before a run is started for them
    if reg_param == 0:
        regression = LinearRegression()
    else:
        regression = ElasticNet(l1_ratio=elastic_net_param, alpha=reg_param, max_iter=max_iter)
    # StandardScaler: the penalty weighs all features alike, as Spark's standardization makes it
    model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                      ("regression", regression)])

    # Start an MLflow run tagged with this session; the "with" keyword ensures we'll close the run even if
    # this cell crashes
    with mlflow.start_run(tags={"lab_session": lab_session}) as run:
        model.fit(train_df[feature_columns], train_df[label_column])
        predictions = model.predict(test_df[feature_columns])
        (rmse, mae, r2) = eval_metrics(test_df[label_column], predictions)

        # Print out model metrics
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}):")
        if reg_param == 0:
            print("  solved in closed form (ordinary least squares); max_iter does not apply")
        else:
            print(f"  the solver took {regression.n_iter_} of at most {max_iter} iterations")
        print(f"  RMSE: {rmse:.4f}")
        print(f"  MAE:  {mae:.4f}")
        print(f"  R2:   {r2:.4f}")

        # Log hyperparameters and evaluation metrics for the MLflow UI
        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model itself, with the input columns and output it expects (its signature)
        signature = infer_signature(test_df[feature_columns], predictions)
        mlflow.sklearn.log_model(model, signature=signature, **model_options)

        # Generate a plot and log it (an artifact: any file you want to keep with the run)
        png_path = os.path.join(tempfile.mkdtemp(), "LinearRegressionPrediction.png")
        figure = plot_regression_quality(test_df[label_column], predictions, png_path)
        mlflow.log_artifact(png_path)

    return {"run_id": run.info.run_id, "rmse": rmse, "mae": mae, "r2": r2,
            "predictions": predictions, "figure": figure}

# COMMAND ----------

# MAGIC %md
# MAGIC ## Experiment with different parameters
# MAGIC Call `train_nyc_taxi` with different parameters. Later, you'll review each of these runs in the MLflow
# MAGIC experiment. The first run uses no penalty at all (`reg_param = 0`), so it is ordinary least squares, and
# MAGIC `max_iter = 1` does not limit it.

# COMMAND ----------

# DBTITLE 1,Run 1: least squares
# No penalty (regularization parameter 0.0): least squares in closed form, so max_iter = 1 does not apply
run_1 = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC R² is the share of the variance of the total amount in the test data that the model explains (1 would
# MAGIC be perfect). RMSE and MAE estimate how far off the predictions are, in dollars; RMSE penalizes distant
# MAGIC values more than MAE does. The next cell puts this run's numbers into words and shows its plot: the
# MAGIC closer the red dots lie to the blue line, the better the model.

# COMMAND ----------

print(f"The model explains {run_1['r2']:.0%} of the variance of totalAmount in the test data.")
print(f"Its predictions are off by ${run_1['mae']:.2f} on average (MAE); RMSE is ${run_1['rmse']:.2f}.")
display(run_1["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC Trying the model with a different set of hyperparameters is as easy as changing the inputs to the
# MAGIC function. This run uses a pure L1 penalty (`elastic_net_param = 1.0`) of strength 0.3 and allows the
# MAGIC solver 50 iterations. If the solver has not converged by then, scikit-learn says so with a
# MAGIC `ConvergenceWarning`: the model is trained and logged all the same.

# COMMAND ----------

# DBTITLE 1,Run 2: L1 penalty
# L1 penalty, regularization parameter 0.3, at most 50 iterations
run_2 = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC How does it compare with the first run? Lower RMSE and MAE, and higher R², are better. The next cell
# MAGIC also counts, for the cheapest quarter of the test rides (the bottom-left corner of the plots), how often
# MAGIC each model predicted more than the actual fare: a model that mostly does skews high on cheap rides.

# COMMAND ----------

# DBTITLE 1,Compare runs 1 and 2
compare_runs(run_2, run_1, "run 2", "run 1")
for name, result in [("run 1", run_1), ("run 2", run_2)]:
    share = share_predicted_high_on_cheap_rides(result["predictions"], test_df[label_column])
    print(f"{name}: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_2["figure"])

# COMMAND ----------

# DBTITLE 1,Run 3: mixed L1 and L2
# 50/50 mixed L1 and L2, regularization parameter 0.9, at most 1000 iterations
run_3 = train_nyc_taxi(train_df, test_df, label_column, 0.5, 0.9, 1000)

# COMMAND ----------

# DBTITLE 1,Compare run 3
compare_runs(run_3, run_1, "run 3", "run 1")
compare_runs(run_3, run_2, "run 3", "run 2")
share = share_predicted_high_on_cheap_rides(run_3["predictions"], test_df[label_column])
print(f"run 3: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_3["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ## Reviewing experiment metrics
# MAGIC
# MAGIC This information is now stored in the MLflow tracking server. Review it in the user interface:
# MAGIC
# MAGIC 1. Select the **Experiment** icon (a flask) in the notebook's right-hand side panel. The panel lists the
# MAGIC    runs of this notebook's experiment, with their parameters and metrics. Compare this session's three
# MAGIC    runs, the three most recent: which has the lowest RMSE?
# MAGIC 1. Select a run's name to open its **run details page**: its parameters, metrics, tags (among them
# MAGIC    `lab_session`) and **artifacts**: the plot `LinearRegressionPrediction.png` and, with MLflow 2, the
# MAGIC    model's `model` folder (MLflow 3 lists the model under **Logged models**).
# MAGIC 1. In the experiment page, select this session's three runs and choose **Compare** to see their
# MAGIC    parameters and metrics side by side.
# MAGIC
# MAGIC Running the lab outside Databricks? The lab guide, `docs/lab-guide.md`, shows the same views in MLflow's UI.
# MAGIC
# MAGIC ### View the experiment, runs, and run details programmatically
# MAGIC
# MAGIC You can also get experiment details from code, with an `MlflowClient`. Start by listing the experiments
# MAGIC you can see, ordered by their `last_update_time`, latest first. Despite its name, that time does not
# MAGIC change when runs are logged: it changes only when the experiment is renamed, deleted or restored.

# COMMAND ----------

# DBTITLE 1,List experiments
from mlflow.tracking import MlflowClient

client = MlflowClient()
experiments = client.search_experiments(order_by=["last_update_time DESC"], max_results=10)
for listed in experiments:
    last_update = datetime.fromtimestamp(listed.last_update_time / 1000, timezone.utc)
    print(f"{listed.experiment_id:>20}  last update {last_update:%Y-%m-%d %H:%M:%S} UTC  {listed.name}")

# COMMAND ----------

# MAGIC %md
# MAGIC Pick this lab's experiment by its name, with a filter, rather than by its position in the list. Then
# MAGIC `mlflow.search_runs` returns its runs, of every session, as a pandas DataFrame, one row a run, with the
# MAGIC logged metrics (`metrics.*`), parameters (`params.*`) and tags (`tags.*`). The cell after it keeps
# MAGIC this session's runs: `filter_string` selects the runs whose `lab_session` tag is this session's.

# COMMAND ----------

# DBTITLE 1,Runs of this lab's experiment
[lab_experiment] = client.search_experiments(filter_string=f"name = {quoted(experiment.name)}")
experiment_id = lab_experiment.experiment_id
runs_df = mlflow.search_runs([experiment_id])

print(f"Experiment {experiment_name} holds {len(runs_df)} runs")
display(runs_df)

# COMMAND ----------

# DBTITLE 1,This session's runs
session_runs_df = mlflow.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                                     order_by=["attributes.start_time ASC"])

print(f"Session {lab_session} logged {len(session_runs_df)} of the experiment's {len(runs_df)} runs")
display(session_runs_df[["run_id", "tags.mlflow.runName", "params.elastic_net_param", "params.reg_param",
                         "params.max_iter", "metrics.rmse", "metrics.mae", "metrics.r2"]])

# COMMAND ----------

# MAGIC %md
# MAGIC Next, retrieve the last run in this experiment, ordered by start time: when you have run this notebook
# MAGIC from top to bottom, it is this session's third run. `data.metrics` holds its metrics.

# COMMAND ----------

# DBTITLE 1,Latest run's metrics
runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
last_run = runs[0]
print(f"Latest run: {last_run.info.run_name} (run id {last_run.info.run_id})")
last_run.data.metrics

# COMMAND ----------

# MAGIC %md
# MAGIC You can also load the model a run logged and use it: `runs:/<run_id>/model` names the model that the
# MAGIC run logged as `model`. The model includes the featurization, so it takes the columns of `test_df` as
# MAGIC they are. Load the latest run's model and predict the fares of the first three test trips:

# COMMAND ----------

# DBTITLE 1,Load the model and predict
loaded_model = mlflow.sklearn.load_model(f"runs:/{last_run.info.run_id}/model")
top_rows = test_df.head(3)
display(top_rows.assign(prediction=loaded_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC The latest run is the one you trained last, not necessarily the one that predicts best. To find the best,
# MAGIC ask for this session's runs ordered by RMSE, lowest first, and take the first one; then load its model
# MAGIC the same way and predict the fares of the same three trips.

# COMMAND ----------

# DBTITLE 1,Best run of this session
best_run = client.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                              order_by=["metrics.rmse ASC"], max_results=1)[0]

print(f"Best run of this session: {best_run.info.run_name} (run id {best_run.info.run_id})")
print(f"  parameters: {best_run.data.params}")
print(f"  RMSE {best_run.data.metrics['rmse']:.4f}; the latest run, {last_run.info.run_name}, "
      f"has RMSE {last_run.data.metrics['rmse']:.4f}")

# COMMAND ----------

# DBTITLE 1,Load the best model and predict
best_model_uri = f"runs:/{best_run.info.run_id}/model"
best_model = mlflow.sklearn.load_model(best_model_uri)
print(f"Loaded {best_model_uri}")
display(top_rows.assign(prediction=best_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC ## Clean-up
# MAGIC
# MAGIC The runs stay in the experiment for the next exercises. When you are done with the course, delete the
# MAGIC experiment from the **Experiments** page, and terminate your cluster on the **Compute** page if you
# MAGIC started one for this lab.

# COMMAND ----------

# MAGIC %md
# MAGIC ## Going further
# MAGIC
# MAGIC ### How close is this to Spark?
# MAGIC
# MAGIC The course's original lab used Spark ML's `LinearRegression`, and this notebook maps its hyperparameters
# MAGIC to scikit-learn directly, so that the parameters MLflow logs are the values scikit-learn used. The port is
# MAGIC approximate: Spark divides the label by its standard deviation, `std(label)`, while it fits, which leaves
# MAGIC the L1 part of the penalty as scikit-learn has it but divides the L2 part by `std(label)`. Run 2 (pure L1)
# MAGIC is therefore close to Spark's, while in run 3 the L2 half of the penalty is about `std(label)` times
# MAGIC stronger here. The next cell fits run 3's model once more with the penalty scaled as Spark scales it
# MAGIC (`spark_like_penalty` in the setup notebook), without starting an MLflow run. The lab's Spark ML notebook
# MAGIC trains the three runs with Spark itself.

# COMMAND ----------

# DBTITLE 1,Run 3 with Spark's penalty scaling
label_std = float(train_df[label_column].std())
alpha, l1_ratio = spark_like_penalty(elastic_net_param=0.5, reg_param=0.9, label_std=label_std)
spark_like_model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                             ("regression", ElasticNet(l1_ratio=l1_ratio, alpha=alpha, max_iter=1000))])
spark_like_model.fit(train_df[feature_columns], train_df[label_column])
spark_like_r2 = r2_score(test_df[label_column], spark_like_model.predict(test_df[feature_columns]))

print(f"Standard deviation of {label_column} in the training data: {label_std:.2f}")
print(f"Run 3 as logged:             ElasticNet(l1_ratio=0.5, alpha=0.9), R2 {run_3['r2']:.4f}")
print(f"Run 3 with Spark's scaling:  ElasticNet(l1_ratio={l1_ratio:.3f}, alpha={alpha:.3f}), R2 {spark_like_r2:.4f}")

# COMMAND ----------

# MAGIC %md
# MAGIC The last two cells are for jobs: they return this session's three runs to a job that runs the notebook.

# COMMAND ----------

# MAGIC %run ./includes/job_summary

# COMMAND ----------

# DBTITLE 1,Return a summary to the job
# When a job runs this notebook (deploy.py run --runtime, the bundle's lab_matrix job), this summary is the
# task's output: the library versions of this runtime and the three runs above with their metrics.
dbutils.notebook.exit(lab_summary([run_1["run_id"], run_2["run_id"], run_3["run_id"]]))
